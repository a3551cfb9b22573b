/**
 * The config table (stackConfig.ts): every entry reaches a component argument that exists, with a
 * type that fits; every key of a full config arrives where its entry says; and nothing outside the
 * table reads a key by name (adding a key is one entry plus the component argument it feeds).
 */
import { execFileSync } from "child_process";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { childFieldsOf } from "../components/kanikoBuilder";
import { componentSchema } from "../render/docs";
import { CONDITIONS, ConfigType, feedsOf, kanikoBuilderArgs, readStackConfig, STACK_CONFIG, STACK_CONFIG_KEYS } from "../stackConfig";
import { recordResources } from "./helpers/pulumiMocks";

const ROOT = path.resolve(__dirname, "..");
recordResources();

/** A property's schema at a path such as `registries[0].server`, below a component's inputs. */
function propertyAt(schema: any, properties: Record<string, any>, argPath: string): any {
    let node: any = { properties };
    for (const step of argPath.split(/\.|(?=\[)/)) {
        if (node?.$ref) node = schema.types[decodeURIComponent(node.$ref).replace(/^#\/types\//, "")];
        node = step.startsWith("[") ? node?.items : node?.properties?.[step];
        if (node === undefined) return undefined;
    }
    return node;
}

/** The schema types a key's value may take. */
const FITS: Record<ConfigType, (p: any) => boolean> = {
    string: (p) => p.type === "string",
    secret: (p) => p.type === "string",
    integer: (p) => p.type === "integer" || p.type === "number",
    boolean: (p) => p.type === "boolean",
    list: (p) => p.type === "array",
    map: (p) => p.type === "object" || p.$ref !== undefined,
};

describe("every entry", () => {
    let schema: any;
    beforeAll(async () => {
        schema = await componentSchema();
    }, 60_000);

    test.each(STACK_CONFIG_KEYS)("%s feeds KanikoBuilder arguments and child fields that exist, of a type its value fits", (key) => {
        const spec = STACK_CONFIG[key];
        const builder = schema.resources["kaniko-builder:index:KanikoBuilder"].inputProperties;
        for (const feed of feedsOf(spec)) {
            const arg = propertyAt(schema, builder, feed.arg);
            expect([feed.arg, arg === undefined ? "missing" : "found"]).toEqual([feed.arg, "found"]);
            // An item joins a list of strings; a value takes the argument's own type.
            expect([feed.arg, feed.item ? arg.type === "array" && arg.items?.type === "string" : FITS[spec.type](arg)]).toEqual([feed.arg, true]);
            for (const { component, field } of childFieldsOf(feed.arg)) {
                const child = propertyAt(schema, schema.resources[`kaniko-builder:index:${component}`].inputProperties, field);
                expect([component, field, child === undefined ? "missing" : "found"]).toEqual([component, field, "found"]);
            }
        }
    });

    test.each(STACK_CONFIG_KEYS)("%s: its default is of its type, and its conditions exist", (key) => {
        const spec = STACK_CONFIG[key];
        const kind = { string: "string", integer: "number", boolean: "boolean", list: "object", map: "object", secret: "string" }[spec.type];
        if (spec.default !== undefined) expect(typeof spec.default).toBe(kind);
        if (spec.type === "integer" && spec.default !== undefined) expect(Number.isInteger(spec.default)).toBe(true);
        for (const condition of [spec.when, ...feedsOf(spec).map((f) => f.when)]) if (condition !== undefined) expect(Object.keys(CONDITIONS)).toContain(condition);
        // Only the mirror's switch and the keys that say so carry no argument.
        if (spec.feeds === undefined) expect(key).toBe("dockerHubMirror");
    });
});

test("a config with every key set reaches every argument the table names", () => {
    const values: Record<string, string> = {
        registryUsername: "bot", localRegistry: "cluster", dockerHubMirror: "true", registry: "", insecureRegistry: "true",
        credHelpers: JSON.stringify({ "ghcr.io": "gcr" }), nodeSelector: JSON.stringify({ a: "b" }), tolerations: JSON.stringify([{ key: "k" }]),
        kanikoResources: JSON.stringify({ limits: { memory: "1Gi" } }), extraExecutorFlags: JSON.stringify(["--a=b"]),
    };
    const typed: Record<ConfigType, string> = { string: "x", integer: "30555", boolean: "true", list: "[]", map: "{}", secret: "s3cret" };
    const config = Object.fromEntries(STACK_CONFIG_KEYS.map((k) => [`kaniko-builder:${k}`, values[k] || typed[STACK_CONFIG[k].type]]));
    pulumi.runtime.setAllConfig(config, STACK_CONFIG_KEYS.filter((k) => STACK_CONFIG[k].type === "secret").map((k) => `kaniko-builder:${k}`));
    const args: any = kanikoBuilderArgs(readStackConfig(new pulumi.Config("kaniko-builder"), "kaniko-builder"));
    const at = (argPath: string) => argPath.split(/\.|(?=\[)/).reduce((node, step) => node?.[step.startsWith("[") ? Number(step.slice(1, -1)) : step], args);
    for (const [key, spec] of Object.entries(STACK_CONFIG)) {
        for (const feed of feedsOf(spec)) {
            const value = at(feed.arg);
            expect([key, feed.arg, value === undefined ? "missing" : "set"]).toEqual([key, feed.arg, "set"]);
            if (feed.item) expect(value).toContain(feed.item(Number(typed.integer)));
        }
    }
    expect(args.podTemplate.extraExecutorFlags).toEqual(["--a=b", "--cache-ttl=30555h"]);
    expect(args.dockerHubMirror).toBeDefined();
});

test("nothing outside the table reads a config key by name; stack.ts names only the keys of its guidance and generated password", () => {
    // A key read by name is a string literal. A key named like a component field (namespace, registry,
    // credHelpers) cannot be told from the field outside stack.ts, so it is looked for in stack.ts only.
    const fieldNames = new Set(STACK_CONFIG_KEYS.flatMap((k) => feedsOf(STACK_CONFIG[k]).flatMap((f) => [...f.arg.split(/[.[\]]/), ...childFieldsOf(f.arg).flatMap((c) => c.field.split(/[.[\]]/))])));
    const guidance = ["registryServer", "registryUsername", "registryPassword", "dockerConfigJson", "credHelpers", "localRegistry", "localRegistryPassword"];
    const found: string[] = [];
    for (const key of STACK_CONFIG_KEYS) {
        let files: string[] = [];
        try {
            files = execFileSync("git", ["grep", "-l", "-e", `["']${key}["']`, "--", "*.ts", ":!test", ":!examples", ":!bench", ":!stackConfig.ts"], { cwd: ROOT, encoding: "utf8" }).trim().split("\n");
        } catch {
            // git grep exits 1 when nothing matches.
        }
        for (const file of files) {
            if (file === "stack.ts" && guidance.includes(key)) continue;
            if (file !== "stack.ts" && fieldNames.has(key)) continue;
            found.push(`${key}: ${file}`);
        }
    }
    expect(found).toEqual([]);
});
