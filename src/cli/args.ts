// Argument parsers shared by the commands: a bad value is a commander InvalidArgumentError, which
// the CLI turns into a message and exit code 2.
import { InvalidArgumentError } from 'commander';

export function intIn(lo: number, hi: number, what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < lo || n > hi)
      throw new InvalidArgumentError(`${what} must be an integer in ${lo}..${hi}, got '${v}'.`);
    return n;
  };
}

export function positiveNumber(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${what} must be a number > 0, got '${v}'.`);
    return n;
  };
}

export function oneOf<T extends string>(values: readonly T[], what: string) {
  return (v: string): T => {
    if (!values.includes(v as T))
      throw new InvalidArgumentError(`${what} must be one of ${values.join(', ')}, got '${v}'.`);
    return v as T;
  };
}

/** --loss-scale: 'dynamic', 'none' or a positive number (a fixed scale). */
export function lossScaleArg(v: string): 'dynamic' | 'none' | number {
  if (v === 'dynamic' || v === 'none') return v;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`--loss-scale must be 'dynamic', 'none' or a number > 0, got '${v}'.`);
  return n;
}

/** A bad combination of arguments found after parsing: the CLI prints it and exits with code 2. */
export class UsageError extends Error {}
