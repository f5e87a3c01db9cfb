// Typed reads of DECNET_* environment variables with messages that say what to fix.
import { ConfigError } from './errors.ts';

export function envString(name: string, fallback: string): string;
export function envString(name: string): string | undefined;
export function envString(name: string, fallback?: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : value;
}

export function envInt(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = envString(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a whole number`);
  if (range.min !== undefined && value < range.min) throw new ConfigError(`${name}=${value} is below the minimum ${range.min}`);
  if (range.max !== undefined && value > range.max) throw new ConfigError(`${name}=${value} is above the maximum ${range.max}`);
  return value;
}

export function envNumber(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = envString(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a number`);
  if (range.min !== undefined && value < range.min) throw new ConfigError(`${name}=${value} is below the minimum ${range.min}`);
  if (range.max !== undefined && value > range.max) throw new ConfigError(`${name}=${value} is above the maximum ${range.max}`);
  return value;
}

export function envBool(name: string, fallback: boolean): boolean {
  const raw = envString(name);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a boolean (use true or false)`);
}
