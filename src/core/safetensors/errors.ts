/**
 * Every problem with an input file is one of these: a message for a person (what is wrong, in words) and a
 * hint (what to do), tied to the file. Callers print `error.message` and never a stack trace.
 */
export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly hint?: string,
  ) {
    super(`${file}: ${problem}${hint ? ` — ${hint}` : ''}`);
    this.name = 'SafetensorsError';
  }
}

const SYSTEM_PROBLEMS: Record<string, [problem: string, hint: string]> = {
  ENOENT: ['no such file', 'check the path'],
  EACCES: ['permission denied', "check the file's permissions"],
  EPERM: ['permission denied', "check the file's permissions"],
  EISDIR: ['is a directory, not a file', 'pass a file'],
  ENOSPC: ['no space left on the device', 'free some space and try again'],
  EROFS: ['the file system is read-only', 'choose another folder'],
  EMFILE: ['too many open files', 'close other programs or raise the open-file limit'],
};

/** Turns any error met while working on `file` into a SafetensorsError for that file. */
export function asFileError(error: unknown, file: string): SafetensorsError {
  if (error instanceof SafetensorsError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const known = code ? SYSTEM_PROBLEMS[code] : undefined;
  if (known) return new SafetensorsError(file, known[0], known[1]);
  return new SafetensorsError(file, error instanceof Error ? error.message : String(error));
}

/** The one-line, user-facing message of any error. */
export function describeError(error: unknown): string {
  if (error instanceof SafetensorsError) return error.message;
  const path = (error as NodeJS.ErrnoException)?.path;
  if (path) return asFileError(error, path).message;
  return error instanceof Error ? error.message : String(error);
}
