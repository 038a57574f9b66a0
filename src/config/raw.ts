// The pipeline as written, before validation: what the classic and YAML readers and the command
// line produce, and what every error points back into. It imports nothing: the modules that read
// and check it (errors, values, sections, tls/config.ts, storage/config.ts) sit above it, and
// types.ts, the resolved pipeline built from their results, above them.

/** Where a property came from, so an error can name file and line (or the CLI argument). */
export interface SourceLocation {
  /** A file path, or "command line". */
  readonly file: string;
  /** 1-based line in the file, or the 1-based argv position on the command line. */
  readonly line: number;
}

/** One `key value` property as written by the user, before validation. */
export interface RawProperty {
  readonly key: string;
  readonly value: string;
  readonly at: SourceLocation;
}

/** One [INPUT]/[OUTPUT]/[SERVICE] section, or one -i/-o on the command line, unvalidated. */
export interface RawSection {
  readonly kind: 'service' | 'input' | 'output';
  /** The plugin name (`tcp`, `websocket`); empty for the service section. */
  readonly plugin: string;
  readonly properties: RawProperty[];
  readonly at: SourceLocation;
}

export interface RawPipeline {
  readonly service: RawSection;
  readonly inputs: RawSection[];
  readonly outputs: RawSection[];
}
