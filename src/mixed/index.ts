// mixedPrecision.*: Keras' mixed_precision API in camelCase.
export { Policy, globalPolicy, setGlobalPolicy, type PolicyName } from './policy.js';
