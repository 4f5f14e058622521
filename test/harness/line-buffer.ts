/** Keeps the last `max` lines written to it, e.g. a child process's stdout and stderr. */
export class LineBuffer {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly max = 200) {}

  /** Appends a chunk; lines may span chunks. */
  write(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }

  /** The retained lines, plus any unterminated last line. */
  toString(): string {
    return this.partial ? [...this.lines, this.partial].join('\n') : this.lines.join('\n');
  }
}
