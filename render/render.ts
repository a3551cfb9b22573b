/**
 * `npm start`: renders what the cluster-init stack (index.ts) would create, offline, with no Pulumi
 * CLI and no cluster. See README "Render without a cluster".
 *
 *   npm start                                   # the sample config (render/sample-config.yaml)
 *   npm start -- --config-file my-config.yaml   # your config (a key: value map or Pulumi.<stack>.yaml)
 *   npm start -- -c namespace=ci -c registry=ghcr.io/my-org --out /tmp/rendered
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import {
    ConfigMap,
    RenderInputError,
    STACK_SECRET_KEYS,
    parseConfigFlag,
    projectConfigDefaults,
    readConfigFile,
    renderFiles,
    runStackProgram,
    writeRendered,
} from "./renderStack";
import { unknownConfigKeys } from "../stackConfig";

/** The repository root (this file runs as bin/render/render.js). */
const ROOT = path.resolve(__dirname, "..", "..");
const SAMPLE_CONFIG = path.join(ROOT, "render", "sample-config.yaml");

interface Options {
    configFile?: string;
    config: string[];
    out: string;
    showSecrets: boolean;
    program: string;
}

function collect(value: string, previous: string[]): string[] {
    return [...previous, value];
}

async function main(argv: string[]): Promise<number> {
    const command = new Command("render")
        .description("Render what the kaniko-builder cluster-init stack would create, without Pulumi or a cluster.")
        .option("-f, --config-file <file>", "config: a YAML map of keys to values, or a Pulumi.<stack>.yaml without encrypted values")
        .option("-c, --config <key=value>", "a config value (repeatable); overrides the file", collect, [])
        .option("-o, --out <dir>", "directory to write (replaced on each run)", "rendered")
        .option("--show-secrets", "write secret values in plain text instead of <redacted>", false)
        .option("--program <module>", "the stack program to run", path.join(ROOT, "bin", "index.js"))
        .showHelpAfterError()
        .parse(argv);
    const options = command.opts<Options>();

    const useSample = options.configFile === undefined && options.config.length === 0;
    const configFile = useSample ? SAMPLE_CONFIG : options.configFile;
    const config: ConfigMap = {
        ...projectConfigDefaults(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")),
        ...(configFile ? readConfigFile(configFile) : {}),
        ...Object.fromEntries(options.config.map(parseConfigFlag)),
    };
    // A key the stack does not read would silently change nothing: refuse it, naming the nearest key.
    const unknown = unknownConfigKeys(Object.keys(config));
    if (unknown.length > 0) throw new RenderInputError(unknown.join("\n"));
    const configSource = [
        "Pulumi.yaml defaults",
        // As typed (or the sample's path in the repository): the summary must not depend on where the checkout is.
        useSample ? "render/sample-config.yaml (sample placeholders)" : options.configFile,
        options.config.length ? `${options.config.length} --config flag(s)` : undefined,
    ]
        .filter(Boolean)
        .join(" + ");
    if (useSample) {
        process.stderr.write(`No config given: rendering with the sample config render/sample-config.yaml; pass --config-file or -c for yours.\n`);
    }
    if (options.showSecrets) {
        process.stderr.write("\n!!! --show-secrets: SECRET VALUES ARE WRITTEN IN PLAIN TEXT to " + options.out + ". Do not commit, upload or paste it. !!!\n\n");
    }

    const run = await runStackProgram(path.resolve(options.program), config, STACK_SECRET_KEYS);
    const rendered = renderFiles(run, { showSecrets: options.showSecrets, configSource });
    writeRendered(options.out, rendered);
    process.stdout.write(rendered.summary);
    process.stdout.write(`\nWrote ${rendered.files.length} files to ${options.out}/\n`);
    return 0;
}

/** Errors end the run with the message alone: they are about the input, not about this program. */
function fail(e: unknown): never {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`render: ${message}\n`);
    process.exit(e instanceof RenderInputError ? 2 : 1);
}

process.on("unhandledRejection", fail);
main(process.argv).then((code) => process.exit(code), fail);
