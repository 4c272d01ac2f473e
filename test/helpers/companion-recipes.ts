/**
 * The recipes of docs/agents.md and the README: fenced blocks whose info string says `companion`
 * (doc-snippets.test.ts skips them: they also say `no-run`). The companion suites run them as written.
 */

export interface Block {
  info: string[];
  code: string;
  line: number;
  /** Where the block is, and the directory its recipe runs in (the README's clones its own copy). */
  where: "README.md" | "docs/agents.md";
}

export function companionBlocks(text: string, where: Block["where"]): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index += 1) {
    const open = /^```(.*)$/.exec(lines[index] ?? "");
    if (open === null) continue;
    const start = index;
    const body: string[] = [];
    for (index += 1; index < lines.length && lines[index] !== "```"; index += 1)
      body.push(lines[index] ?? "");
    const info = (open[1] ?? "").trim().split(/\s+/);
    if (info.includes("companion")) blocks.push({ info, code: body.join("\n"), line: start + 1, where });
  }
  return blocks;
}
