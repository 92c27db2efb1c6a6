/**
 * Aligned plain-text columns. Hand-written rather than a table library: sdx
 * tables are simple (no wrapping, no borders), and this keeps `sdx` start-up
 * free of another module load.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], options: { indent?: string; rightAlign?: readonly number[] } = {}): string {
  const indent = options.indent ?? "";
  const right = new Set(options.rightAlign ?? []);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    indent + cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
