/**
 * The table of the cluster-init stack's config keys in docs/configuration.md, generated from
 * Pulumi.yaml (and the keys Pulumi.yaml cannot declare, stackConfig.ts), so that the two never
 * disagree. `npm run docs` (render/docs.ts) rewrites it.
 */
import { parse } from "yaml";
import { UNDECLARED_CONFIG_KEYS } from "../stackConfig";

export const BEGIN = "<!-- config-table: generated from Pulumi.yaml by `npm run docs`; do not edit -->";
export const END = "<!-- config-table: end -->";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (value: unknown) => {
    if (value === "" || value === undefined) return "(none)";
    return `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
};

/** The markdown table: key, type, default, meaning. */
export function stackConfigTable(pulumiYaml: string): string {
    // Keys of other namespaces (kubernetes:...) set the default provider, not the stack: docs/configuration.md says so in prose.
    const own = Object.entries<any>(parse(pulumiYaml).config ?? {}).filter(([k]) => k.startsWith("kaniko-builder:"));
    const rows = own.map(([k, spec]) => {
        const type = spec.type === "array" ? `list of ${spec.items?.type ?? "values"}` : spec.type;
        return `| \`${k.replace(/^kaniko-builder:/, "")}\` | ${type} | ${code(spec.default)} | ${cell(spec.description ?? "")} |`;
    });
    const undeclared = Object.entries(UNDECLARED_CONFIG_KEYS).map(
        ([k, v]) => `| \`${k}\` | ${v.kind === "secret" ? "string, secret" : "object (`--path`)"} | (none) | ${cell(v.description)} |`,
    );
    return ["| Config key | Type | Default | Meaning |", "| --- | --- | --- | --- |", ...rows, ...undeclared].join("\n");
}

/** A page with its table replaced by the generated one. */
export function withConfigTable(readme: string, pulumiYaml: string): string {
    const start = readme.indexOf(BEGIN);
    const end = readme.indexOf(END);
    if (start < 0 || end < start) throw new Error(`the page has no config table markers (${BEGIN} ... ${END})`);
    return `${readme.slice(0, start)}${BEGIN}\n${stackConfigTable(pulumiYaml)}\n${readme.slice(end)}`;
}
