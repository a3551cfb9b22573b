/**
 * What is generated from the config table (stackConfig.ts), so that nothing disagrees with it:
 * Pulumi.yaml's declarations of the stack's keys, and the table in docs/configuration.md.
 * `npm run docs` (render/docs.ts) rewrites both; a test fails when either is stale.
 */
import { stringify } from "yaml";
import { childFieldsOf } from "../components/kanikoBuilder";
import { CONDITIONS, declarable, feedsOf, STACK_CONFIG, StackConfigKey } from "../stackConfig";

export const BEGIN = "<!-- config-table: generated from stackConfig.ts by `npm run docs`; do not edit -->";
export const END = "<!-- config-table: end -->";

/** The lines around the generated keys in Pulumi.yaml's `config:` block. */
export const YAML_BEGIN = "  # The stack's keys: generated from the table in stackConfig.ts by `npm run docs`; do not edit down to the end line.";
export const YAML_END = "  # End of the generated keys.";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (value: unknown) => {
    if (value === "" || value === undefined) return "(none)";
    return `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
};

/** A key's type, as the docs say it. */
function typeText(spec: StackConfigKey): string {
    if (spec.type === "secret") return "string, secret";
    if (spec.type === "map") return "map (`--path`)";
    if (spec.type === "list") return `list of ${spec.items ?? "string"}${spec.items === "object" ? " (`--path`)" : ""}`;
    return spec.type;
}

/** Which component fields a key reaches, and under which condition each. */
function reachesText(spec: StackConfigKey): string {
    const feeds = feedsOf(spec).map((feed) => {
        const fields = childFieldsOf(feed.arg).map(({ component, field }) => `${component} \`${field}\``);
        const how = feed.item ? ` (as \`${feed.item("<value>")}\`)` : "";
        const when = feed.when ? ` (${CONDITIONS[feed.when].text})` : "";
        return `${fields.join(", ")}${how}${when}`;
    });
    return feeds.length > 0 ? feeds.join("; ") : "(switches the part on)";
}

/** The markdown table: key, type, default, meaning, when it applies, which component fields it reaches. */
export function stackConfigTable(): string {
    const rows = Object.entries(STACK_CONFIG).map(
        ([key, spec]) =>
            `| \`${key}\` | ${typeText(spec)} | ${code(spec.default)} | ${cell(spec.description)} | ${spec.when ? CONDITIONS[spec.when].text : "always"} | ${cell(reachesText(spec))} |`,
    );
    return ["| Config key | Type | Default | Meaning | Applies | Reaches |", "| --- | --- | --- | --- | --- | --- |", ...rows].join("\n");
}

/** A page with its table replaced by the generated one. */
export function withConfigTable(page: string): string {
    const start = page.indexOf(BEGIN);
    const end = page.indexOf(END);
    if (start < 0 || end < start) throw new Error(`the page has no config table markers (${BEGIN} ... ${END})`);
    return `${page.slice(0, start)}${BEGIN}\n${stackConfigTable()}\n${page.slice(end)}`;
}

/** Pulumi.yaml's declarations of the stack's keys, and a comment naming those it cannot declare. */
export function pulumiYamlConfig(project: string): string {
    const entries = Object.entries(STACK_CONFIG);
    const declared = Object.fromEntries(
        entries
            .filter(([, spec]) => declarable(spec))
            .map(([key, spec]) => [
                `${project}:${key}`,
                {
                    type: spec.type === "list" ? "array" : spec.type,
                    ...(spec.type === "list" ? { items: { type: spec.items ?? "string" } } : {}),
                    description: spec.description,
                    default: spec.default,
                },
            ]),
    );
    const yaml = stringify(declared, { lineWidth: 0 }).trimEnd().split("\n").map((line) => `  ${line}`);
    const undeclared = entries.filter(([, spec]) => !declarable(spec));
    const width = Math.max(...undeclared.map(([key]) => key.length));
    return [
        ...yaml,
        "  # Also read, and not declared here, because Pulumi.yaml cannot declare them: an optional secret (a declared key without",
        "  # a default is required, and a secret may not have a plain-text default), or a map or list of objects:",
        ...undeclared.map(([key, spec]) => `  #   ${project}:${key.padEnd(width)} (${spec.type === "secret" ? "secret" : "object"}) ${spec.description}`),
    ].join("\n");
}

/** Pulumi.yaml with its generated lines replaced. */
export function withPulumiYamlConfig(pulumiYaml: string, project = "kaniko-builder"): string {
    const start = pulumiYaml.indexOf(`${YAML_BEGIN}\n`);
    const end = pulumiYaml.indexOf(`${YAML_END}\n`);
    if (start < 0 || end < start) throw new Error(`Pulumi.yaml has no generated-keys lines (${YAML_BEGIN} ... ${YAML_END})`);
    return `${pulumiYaml.slice(0, start)}${YAML_BEGIN}\n${pulumiYamlConfig(project)}\n${pulumiYaml.slice(end)}`;
}
