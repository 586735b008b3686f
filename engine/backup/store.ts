// The storage errors the backup acts on, by kind. Backends throw typed StorageErrors
// (engine/storage/errors.ts); the operations branch on these two and pass the rest up.
import { ObjectNotFoundError, PreconditionFailedError } from "../storage/errors.ts";

export type { StorageBackend as ObjectStore } from "../storage/backend.ts";

export const isNotFound = (err: unknown): boolean => err instanceof ObjectNotFoundError;
export const isPreconditionFailed = (err: unknown): boolean => err instanceof PreconditionFailedError;
