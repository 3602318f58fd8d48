// io: saving and loading models and weights (the TensorFlow.js layers format, safetensors, Keras HDF5).

export { modelFromTopology } from './deserialize.js';
export { type KerasWeightsOptions, type KerasWeightsReport, loadKerasWeights } from './keras-h5.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  type LoadWeightsOptions,
  loadWeights,
  type SafetensorsDType,
  type SafetensorsEntry,
  type SafetensorsFile,
  saveWeights,
} from './safetensors.js';
export { modelTopology } from './serialize.js';
export { type LoadOptions, loadLayersModel, modelFromArtifacts } from './tfjs-load.js';
export {
  type ModelArtifacts,
  modelToArtifacts,
  type SaveResult,
  saveLayersModel,
  type WeightSpec,
} from './tfjs-save.js';
