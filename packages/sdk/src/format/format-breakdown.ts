import type { CostEstimate, CostLine, EstimateReport } from "../pricing/pricing-contract.js";
import { formatUsd } from "./format-usd.js";

// Same convention as the estimator: a month is 730 hours.
const HOURS_PER_MONTH = 730;
const INDENT = "  ";
const GAP = "  ";
/** Lines without a service (nodes, control plane, shared load balancers) are grouped under this name; parentheses keep it apart from any service name. */
const SHARED = "(shared)";
/** Eighths of a cell, so a bar's length is exact to 1/8 of a character. */
const PARTIAL = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"] as const;

/** How a breakdown is laid out. */
export interface BreakdownOptions {
  /**
   * Longest line in characters (the CLI passes `$COLUMNS`): long item, source
   * and service texts are elided with `…`, and anything still too long is cut.
   * @default no limit
   */
  readonly width?: number;
  /** Length of the biggest service's bar, in characters (less when `width` is short). @default 24 */
  readonly barWidth?: number;
}

/**
 * One target's estimate broken down for people: a per-service table (monthly
 * USD, share of the total and a bar sized to the biggest service), then every
 * line biggest first (quantity × unit price, $/month, price date and source),
 * then what is not priced for this target. Works with any line: it reads only
 * the `CostLine` fields. Pure; no trailing newline.
 */
export function formatBreakdown(estimate: CostEstimate, options: BreakdownOptions = {}): string {
  const width = options.width;
  const out: string[] = [`Cost breakdown of ${estimate.target}: ${formatUsd(estimate.monthlyUsd)}/month (${estimate.capacity}, ${estimate.provider} ${estimate.region})`];
  if (estimate.lines.length === 0) out.push(`${INDENT}No cost lines.`);
  else {
    out.push(...serviceTable(estimate.lines, options.barWidth ?? 24, width), "", ...lineTable(estimate.lines, width));
    // Lines sum to the total unless the estimator added something it did not itemise; say so rather than let the shares mislead.
    const sum = monthly(estimate.lines.reduce((n, l) => n + l.hourlyUsd, 0));
    if (Math.abs(sum - estimate.monthlyUsd) >= 0.005) out.push(`${INDENT}The lines sum to ${formatUsd(sum)}/month; the total is ${formatUsd(estimate.monthlyUsd)}/month.`);
  }
  if (estimate.notPriced.length) out.push(...wrap(`Not priced on ${estimate.target}: ${estimate.notPriced.join(", ")}.`, width, INDENT, `${INDENT}  `));
  return out.map((l) => clamp(l, width)).join("\n");
}

/**
 * Breakdowns of the named targets in order, from one report; a target without
 * an estimate says why (its rejection reason when there is one). Pure; no
 * trailing newline.
 */
export function formatBreakdowns(report: EstimateReport | undefined, targets: readonly string[], options: BreakdownOptions = {}): string {
  return targets
    .map((t) => {
      const e = report?.estimates.find((x) => x.target === t);
      if (e) return formatBreakdown(e, options);
      const why = report?.rejected.find((r) => r.target === t)?.reason ?? "it was not priced";
      return clamp(`No cost breakdown for ${t}: ${why}.`, options.width);
    })
    .join("\n\n");
}

/**
 * The terminal width from `$COLUMNS`, when it is set to a positive whole
 * number; otherwise undefined (no limit).
 */
export function widthFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env.COLUMNS?.trim();
  if (!raw || !/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n > 0 ? n : undefined;
}

/** SERVICE, $/MONTH, SHARE and a bar per service, biggest first. */
function serviceTable(lines: readonly CostLine[], barWidth: number, width: number | undefined): string[] {
  const byService = new Map<string, number>();
  for (const l of lines) byService.set(l.service ?? SHARED, (byService.get(l.service ?? SHARED) ?? 0) + monthly(l.hourlyUsd));
  const services = [...byService].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const total = services.reduce((n, [, v]) => n + v, 0);
  const biggest = Math.max(0, ...services.map(([, v]) => v));
  const cells = services.map(([name, v]) => [name, formatUsd(v), share(v, total)]);
  const widths = fit(
    [naturalWidth("SERVICE", cells, 0), naturalWidth("$/MONTH", cells, 1), naturalWidth("SHARE", cells, 2), barWidth],
    [8, Infinity, Infinity, 4],
    [3, 0],
    width,
  );
  const right = [false, true, true, false];
  return [
    row(["SERVICE", "$/MONTH", "SHARE", ""], widths, right),
    ...services.map(([, v], i) => row([...cells[i]!, bar(v, biggest, widths[3]!)], widths, right)),
  ];
}

/**
 * Every line biggest first: SERVICE, ITEM, QUANTITY × UNIT PRICE, $/MONTH,
 * AS OF, SOURCE. When that is wider than `width`, the date and source move to
 * a line of their own under each row, so a narrow terminal still shows them.
 */
function lineTable(lines: readonly CostLine[], width: number | undefined): string[] {
  const sorted = [...lines].sort((a, b) => b.hourlyUsd - a.hourlyUsd || (a.service ?? SHARED).localeCompare(b.service ?? SHARED) || a.item.localeCompare(b.item));
  const header = ["SERVICE", "ITEM", "QUANTITY × UNIT PRICE", "$/MONTH", "AS OF", "SOURCE"];
  const cells = sorted.map((l) => [l.service ?? SHARED, l.item, quantityTimesPrice(l), formatUsd(monthly(l.hourlyUsd)), l.provenance.asOf, l.provenance.source]);
  const natural = header.map((h, i) => naturalWidth(h, cells, i));
  const right = [false, false, false, true, false, false];
  if (width === undefined || tableWidth(natural) <= width) return [row(header, natural, right), ...cells.map((c) => row(c, natural, right))];
  // The item gives way first, then the quantity: the figures are what a reader checks.
  const widths = fit(natural.slice(0, 4), [8, 12, 14, Infinity], [1, 2, 0], width);
  return [
    row(header.slice(0, 4), widths, right),
    ...cells.flatMap((c) => [row(c.slice(0, 4), widths, right), `${INDENT}    as of ${c[4]}: ${c[5]}`]),
  ];
}

/** `2 vCPU × $0.04048/h`; without `/h` when the line's unit price is not hourly (quantity × unit price ≠ its hourly cost). */
function quantityTimesPrice(l: CostLine): string {
  const hourly = Math.abs(l.quantity * l.unitPriceUsd - l.hourlyUsd) <= 1e-9 * Math.max(1, Math.abs(l.hourlyUsd));
  return `${plainNumber(l.quantity)} ${l.unit} × ${unitPrice(l.unitPriceUsd)}${hourly ? "/h" : ""}`;
}

/** Unit prices keep five significant digits, as price lists print them ($0.04048, $0.0022225; $0.00010959 for $0.08 a month), never an exponent. */
function unitPrice(n: number): string {
  if (n === 0) return "$0";
  return `${n < 0 ? "-" : ""}$${plainNumber(Math.abs(n), 5)}`;
}

function plainNumber(n: number, digits = 6): string {
  const s = String(Number(n.toPrecision(digits)));
  // Below 1e-6 String() switches to exponents; a price list never does.
  return s.includes("e") ? n.toFixed(12).replace(/\.?0+$/, "") : s;
}

function share(v: number, total: number): string {
  if (total <= 0) return "-";
  const pct = Math.round((v / total) * 100);
  return pct === 0 && v > 0 ? "<1%" : `${pct}%`;
}

/** A bar of full blocks and one eighth-block, `width` long for the biggest value; any positive value shows at least ▏. */
function bar(v: number, biggest: number, width: number): string {
  if (v <= 0 || biggest <= 0 || width <= 0) return "";
  const eighths = Math.max(1, Math.round((v / biggest) * width * 8));
  return "█".repeat(Math.floor(eighths / 8)) + PARTIAL[eighths % 8];
}

const monthly = (hourlyUsd: number): number => hourlyUsd * HOURS_PER_MONTH;

const len = (s: string): number => [...s].length;

function naturalWidth(header: string, cells: readonly (readonly string[])[], i: number): number {
  return Math.max(len(header), ...cells.map((c) => len(c[i] ?? "")));
}

/**
 * Column widths within `width`: the columns in `order` give up characters in
 * turn, each down to its minimum; the others keep their natural width. What
 * still does not fit is cut by {@link clamp}.
 */
function fit(natural: readonly number[], mins: readonly number[], order: readonly number[], width: number | undefined): number[] {
  const widths = [...natural];
  if (width === undefined) return widths;
  let excess = tableWidth(widths) - width;
  for (const i of order) {
    if (excess <= 0) break;
    const give = Math.min(excess, Math.max(0, widths[i]! - mins[i]!));
    widths[i] = widths[i]! - give;
    excess -= give;
  }
  return widths;
}

/** A table's line length with these column widths. */
function tableWidth(widths: readonly number[]): number {
  return len(INDENT) + widths.reduce((a, b) => a + b, 0) + len(GAP) * (widths.length - 1);
}

function row(cells: readonly string[], widths: readonly number[], right: readonly boolean[]): string {
  return INDENT + cells.map((c, i) => {
    const w = widths[i]!;
    const e = elide(c, w);
    const pad = " ".repeat(Math.max(0, w - len(e)));
    return right[i] ? pad + e : e + pad;
  }).join(GAP).trimEnd();
}

function elide(s: string, w: number): string {
  const chars = [...s];
  if (chars.length <= w) return s;
  return w <= 0 ? "" : `${chars.slice(0, w - 1).join("").trimEnd()}…`;
}

/** The last guarantee of `width`: no line is longer. */
function clamp(line: string, width: number | undefined): string {
  return width === undefined ? line : elide(line, width);
}

/** Words onto lines of at most `width`, the first indented by `first`, the rest by `rest`; one line when there is no width. */
function wrap(text: string, width: number | undefined, first: string, rest: string): string[] {
  if (width === undefined) return [first + text];
  const out: string[] = [];
  let cur = first;
  for (const word of text.split(" ")) {
    if (cur.trim() && len(cur) + 1 + len(word) > width) {
      out.push(cur);
      cur = rest + word;
    } else cur = cur.trim() ? `${cur} ${word}` : cur + word;
  }
  out.push(cur);
  return out;
}
