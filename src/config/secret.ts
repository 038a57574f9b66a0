// A value that must never be printed: key passwords, bearer tokens, Basic credentials, private
// keys. `wsrelay --dry-run` prints the resolved config as JSON, and logs print values; both see
// only a placeholder. The value itself stays a plain string, readable where it is used.
export class Secret {
  constructor(readonly value: string) {}

  toJSON(): string {
    return '(secret)';
  }

  toString(): string {
    return '(secret)';
  }
}
