import { Document, isMap, isScalar, isSeq, visit } from "yaml";
import type { ImportNote, ImportNoteLevel, ImportResult } from "./import-result.js";
import { escapeDollars } from "./split-value.js";

/** Options for {@link toSdxYaml}. */
export interface ToSdxYamlOptions {
  /** The imported file's name, for the header. @default "the source file" */
  readonly source?: string;
  /** A `$schema` line for editors, e.g. a path to app.schema.json. @default undefined (no line) */
  readonly schema?: string;
  /** Also list `translated` notes in the header. @default true */
  readonly includeTranslated?: boolean;
  /** Wrap header lines at this width. @default 100 */
  readonly width?: number;
}

const ORDER: readonly ImportNoteLevel[] = ["dropped", "approximated", "ignored", "translated"];
const HEADINGS: Readonly<Record<ImportNoteLevel, string>> = {
  dropped: "Dropped (no sdx equivalent)",
  approximated: "Approximated (check these)",
  ignored: "Ignored (irrelevant to sdx)",
  translated: "Translated (for reference)",
};

/**
 * Serialises an import to `sdx.yaml` text: a header comment listing the
 * report by level, then `result.template` as is (references kept, `$$` for a
 * literal `$`). Without a template, the document with every `$` written `$$`,
 * so that loading the file gives back exactly its values.
 */
export function toSdxYaml(result: Pick<ImportResult, "document" | "report"> & Partial<Pick<ImportResult, "template">>, options: ToSdxYamlOptions = {}): string {
  const width = options.width ?? 100;
  const header: string[] = [
    ` Imported from ${options.source ?? "the source file"} by \`sdx import\`. Review the notes, then run \`sdx plan\`.`,
    " ${VAR} is read from the environment when sdx loads this file; a literal $ is written $$.",
  ];
  const notes = result.report.filter((n) => options.includeTranslated !== false || n.level !== "translated");
  for (const level of ORDER) {
    const group = notes.filter((n) => n.level === level);
    if (group.length === 0) continue;
    header.push("", ` ${HEADINGS[level]}:`);
    for (const n of group) header.push(...wrap(n, width));
  }
  if (notes.length === 0) header.push("", " Every key translated one to one.");

  const written = result.template ?? escapeDollars(result.document);
  const body = options.schema === undefined ? written : { $schema: options.schema, ...(written as object) };
  const doc = new Document(body);
  // Short lists of scalars and small items of lists read better on one line, as in the examples.
  visit(doc, {
    Seq(_k, node) {
      if (node.items.every((i) => isScalar(i)) && JSON.stringify(node.toJSON()).length <= 72) {
        node.flow = true;
        // Quoted like the examples' command lists, so spaces and dashes read unambiguously.
        for (const i of node.items) if (isScalar(i) && typeof i.value === "string") i.type = "QUOTE_DOUBLE";
      }
    },
    Map(_k, node, path) {
      const parent = path.at(-1);
      if (isSeq(parent) && node.items.every((p) => isScalar(p.value)) && JSON.stringify(node.toJSON()).length <= 72) node.flow = true;
      if (isMap(node) && node.items.length === 0) node.flow = true;
    },
  });
  doc.commentBefore = header.join("\n");
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}

function wrap(n: ImportNote, width: number): string[] {
  const words = `${n.path || "(file)"}: ${n.reason}`.split(" ");
  const lines: string[] = [];
  let cur = "   -";
  for (const w of words) {
    if (cur.length + 1 + w.length > width && cur.trim() !== "-") {
      lines.push(cur);
      cur = "     ";
    }
    cur += (cur.endsWith(" ") ? "" : " ") + w;
  }
  lines.push(cur);
  return lines;
}

