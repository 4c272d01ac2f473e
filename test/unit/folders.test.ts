/**
 * docs/architecture.md's rule, checked: no folder of src/ or ui/ imports a folder that imports it
 * back, directly or around a longer loop, type-only imports included. Folders are compared at
 * every depth (`src` vs `ui`, the parts like `src/broker`, and sub-folders like
 * `src/broker/rendezvous`), from the relative import specifiers of every source file.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: "utf8" })
    .filter((name) => /\.tsx?$/.test(name))
    .map((name) => join(ROOT, folder, name));
}

/** Edges between folders, each folder cut to its first `depth` path segments. */
function folderEdges(files: readonly string[], depth: number): Map<string, Set<string>> {
  const folderOf = (file: string) => dirname(relative(ROOT, file)).split("/").slice(0, depth).join("/");
  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    const from = folderOf(file);
    for (const match of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const to = folderOf(resolve(dirname(file), match[1] ?? ""));
      if (to === from || to === "." || to.startsWith("..")) continue;
      edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  return edges;
}

/** One loop through the graph, as a list of folders, or undefined when there is none. */
function findCycle(edges: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const at = path.indexOf(node);
    if (at >= 0) return [...path.slice(at), node];
    if (done.has(node)) return undefined;
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    done.add(node);
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe("folder dependencies point one way", () => {
  const files = [...sourceFiles("src"), ...sourceFiles("ui")];

  test("the check sees imports at all (a broken pattern would pass vacuously)", () => {
    expect(folderEdges(files, 2).get("src/broker")?.has("src/core")).toBe(true);
    expect(
      findCycle(
        new Map([
          ["a", new Set(["b"])],
          ["b", new Set(["a"])],
        ]),
      ),
    ).toEqual(["a", "b", "a"]);
  });

  test.each([1, 2, 3, 4])("no cycle between folders compared %d path segments deep", (depth) => {
    expect(findCycle(folderEdges(files, depth))).toBeUndefined();
  });
});
