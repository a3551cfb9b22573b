/**
 * The files of the local registry (the CNCF distribution registry): config.yml, htpasswd with stable
 * bcrypt hashes, the http secret, the KEP-1755 document, and the scripts that serve it and run its
 * maintenance. Pure.
 */
import * as bcrypt from "bcryptjs";
import { createHash, createHmac } from "crypto";
import { stringify } from "yaml";
import { byKey } from "../common";

/** The port the registry listens on inside its container. */
export const REGISTRY_PORT = 5000;

/** Paths inside the registry container. */
export const REGISTRY_PATHS = {
    configDir: "/etc/docker/registry",
    config: "/etc/docker/registry/config.yml",
    /** The same config in read-only maintenance mode (served while garbage collection runs). */
    readOnlyConfig: "/etc/docker/registry/config-readonly.yml",
    /** The in-cluster registry container's command: serves, and runs maintenance on request. */
    runScript: "/etc/docker/registry/run.sh",
    /** Where the maintenance CronJob leaves its request and finds the result (on the registry's volume). */
    maintenanceDir: "/var/lib/registry/.maintenance",
    authDir: "/auth",
    htpasswd: "/auth/htpasswd",
    /** With TLS: the server certificate and its key (from the auth Secret). */
    tlsCertificate: "/auth/tls.crt",
    tlsKey: "/auth/tls.key",
    data: "/var/lib/registry",
};

/** The htpasswd realm unless one is given. */
export const DEFAULT_REALM = "kaniko-builder registry";

/** bcrypt cost of the htpasswd entries (the registry's and htpasswd's usual 10). */
export const BCRYPT_COST = 10;

/** One registry user, resolved. */
export interface RegistryUserValue {
    username: string;
    password: string;
}

/**
 * A value derived from the registry's secret key (`secretKey`, random bytes kept as a secret in the
 * stack's state) for one purpose: HMAC-SHA256 keyed with it, so that nobody without the key can
 * compute it, and nothing a password guess can be tested against.
 */
export function keyed(key: string, purpose: string, ...parts: string[]): Buffer {
    return createHmac("sha256", key).update([`kaniko-builder/${purpose}`, ...parts].join("\0")).digest();
}

/**
 * One htpasswd line with a bcrypt (`$2y$`) hash. The salt is derived from the secret key, the
 * registry's identity (`context`) and the user name, not from the password: unchanged inputs give
 * the same line on every run (no diff in every preview), every registry and user gets its own salt,
 * and a password guess can be tested only by a bcrypt run at `cost`, as with any random salt.
 */
export function htpasswdLine(user: RegistryUserValue, context: string, key: string, cost: number = BCRYPT_COST): string {
    const salt = keyed(key, "htpasswd-salt/v2", context, user.username).subarray(0, 16);
    const saltString = `$2y$${String(cost).padStart(2, "0")}$${bcrypt.encodeBase64(salt, 16)}`;
    // bcrypt is slow on purpose (~70 ms at cost 10): hash each credential once per process, however
    // many times a program (or a test, or a benchmark) declares the same registry user.
    const cacheKey = createHash("sha256").update(`${saltString}\0${user.username}\0${user.password}`).digest("hex");
    let hash = HASHES.get(cacheKey);
    if (hash === undefined) {
        hash = bcrypt.hashSync(user.password, saltString);
        HASHES.set(cacheKey, hash);
    }
    return `${user.username}:${hash}`;
}

/** bcrypt hashes already computed, by a digest of salt, user and password (never the password itself). */
const HASHES = new Map<string, string>();

/** How many bcrypt hashes this process has computed (for tests and the benchmark). */
export function bcryptHashCount(): number {
    return HASHES.size;
}

/** The htpasswd file: one bcrypt line per user, sorted by user name, salted from `key` (htpasswdLine). */
export function htpasswdFile(users: RegistryUserValue[], context: string, key: string, cost: number = BCRYPT_COST): string {
    const sorted = [...users].sort(byKey((u) => u.username));
    return sorted.map((u) => `${htpasswdLine(u, context, key, cost)}\n`).join("");
}

/**
 * The registry's `http.secret` (it signs upload state kept by clients), derived from the secret key
 * and the registry's identity: stable across runs, different per registry, and unrelated to any
 * password. It is passed as REGISTRY_HTTP_SECRET from a Secret, not written into the config file,
 * which lives in a ConfigMap.
 */
export function deriveHttpSecret(context: string, key: string): string {
    return keyed(key, "http-secret/v2", context).toString("hex");
}

/**
 * A digest of secret material for a pod annotation (it changes with the material, so that the pod
 * restarts and reads it): keyed with the secret key, so that the annotation, which stays in plain
 * text for readable previews, tells nothing to anyone without the key.
 */
export function secretChecksum(key: string, ...material: string[]): string {
    return keyed(key, "checksum/v2", ...material).toString("hex");
}

/** What the registry's config.yml is made of. */
export interface RegistryConfigOptions {
    /** Require htpasswd logins. */
    auth: boolean;
    /** The htpasswd realm. */
    realm: string;
    /** Let clients delete manifests (needed for garbage collection of untagged images). */
    deleteEnabled: boolean;
    /** Refuse every write (HTTP 405), for maintenance: distribution's `storage.maintenance.readonly`. */
    readOnly?: boolean;
    /**
     * Run as a pull-through cache of the registry at this URL (distribution's `proxy.remoteurl`):
     * pulls fetch what is missing from there and keep it; pushes are refused. The upstream login,
     * if any, comes from REGISTRY_PROXY_USERNAME and REGISTRY_PROXY_PASSWORD, not from the file.
     */
    proxyRemoteUrl?: string;
    /** Serve HTTPS with the certificate and key at REGISTRY_PATHS.tlsCertificate and tlsKey. */
    tls?: boolean;
}

/** The registry's config.yml as an object (registryConfigYaml writes it). */
export function registryConfig(o: RegistryConfigOptions): Record<string, unknown> {
    const config: Record<string, unknown> = {
        version: 0.1,
        log: { level: "info", fields: { service: "registry" } },
        storage: {
            filesystem: { rootdirectory: REGISTRY_PATHS.data },
            delete: { enabled: o.deleteEnabled },
            cache: { blobdescriptor: "inmemory" },
            ...(o.readOnly ? { maintenance: { readonly: { enabled: true } } } : {}),
        },
        http: {
            addr: `:${REGISTRY_PORT}`,
            headers: { "X-Content-Type-Options": ["nosniff"] },
            ...(o.tls ? { tls: { certificate: REGISTRY_PATHS.tlsCertificate, key: REGISTRY_PATHS.tlsKey } } : {}),
        },
    };
    if (o.auth) {
        config.auth = { htpasswd: { realm: o.realm, path: REGISTRY_PATHS.htpasswd } };
    }
    if (o.proxyRemoteUrl !== undefined) {
        config.proxy = { remoteurl: o.proxyRemoteUrl };
    }
    config.health = { storagedriver: { enabled: true, interval: "10s", threshold: 3 } };
    return config;
}

/** A scalar as the YAML library writes it (quoted only where YAML needs it). */
const scalar = (value: string) => stringify(value, { lineWidth: 0 }).trimEnd();

/**
 * The registry's config.yml: storage under /var/lib/registry, deletes enabled, `http.addr :5000`,
 * htpasswd auth, and the storage health check. `http.secret` is left to REGISTRY_HTTP_SECRET.
 * Written line by line, the text the YAML library writes for registryConfig (a test keeps them
 * equal): the document has a fixed shape, and every program run writes two or three of them.
 */
export function registryConfigYaml(o: RegistryConfigOptions): string {
    return [
        "version: 0.1",
        "log:",
        "  level: info",
        "  fields:",
        "    service: registry",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${REGISTRY_PATHS.data}`,
        "  delete:",
        `    enabled: ${o.deleteEnabled}`,
        "  cache:",
        "    blobdescriptor: inmemory",
        ...(o.readOnly ? ["  maintenance:", "    readonly:", "      enabled: true"] : []),
        "http:",
        `  addr: :${REGISTRY_PORT}`,
        "  headers:",
        "    X-Content-Type-Options:",
        "      - nosniff",
        ...(o.tls ? ["  tls:", `    certificate: ${REGISTRY_PATHS.tlsCertificate}`, `    key: ${REGISTRY_PATHS.tlsKey}`] : []),
        ...(o.auth ? ["auth:", "  htpasswd:", `    realm: ${scalar(o.realm)}`, `    path: ${REGISTRY_PATHS.htpasswd}`] : []),
        ...(o.proxyRemoteUrl !== undefined ? ["proxy:", `  remoteurl: ${scalar(o.proxyRemoteUrl)}`] : []),
        "health:",
        "  storagedriver:",
        "    enabled: true",
        "    interval: 10s",
        "    threshold: 3",
        "",
    ].join("\n");
}

/** The KEP-1755 document stored under `localRegistryHosting.v1` in kube-public/local-registry-hosting. */
export function localRegistryHostingYaml(o: {
    host?: string;
    hostFromContainerRuntime: string;
    hostFromClusterNetwork: string;
    help: string;
}): string {
    const doc: Record<string, string> = {};
    if (o.host !== undefined) doc.host = o.host;
    doc.hostFromContainerRuntime = o.hostFromContainerRuntime;
    doc.hostFromClusterNetwork = o.hostFromClusterNetwork;
    doc.help = o.help;
    return stringify(doc, { lineWidth: 0, defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
}

/**
 * The garbage-collection command: `registry garbage-collect --delete-untagged`, where an empty
 * storage ("Path not found", nothing pushed yet) counts as success.
 */
export function garbageCollectScript(configPath: string = REGISTRY_PATHS.config): string {
    return ["set -u", ...garbageCollectLines(configPath), 'exit "$rc"', ""].join("\n");
}

/** The garbage collection as shell lines that leave its outcome in `$rc` (0 for an empty storage). */
function garbageCollectLines(configPath: string = REGISTRY_PATHS.config): string[] {
    return [
        `out=$(registry garbage-collect --delete-untagged ${configPath} 2>&1)`,
        "rc=$?",
        'printf "%s\\n" "$out"',
        'if [ "$rc" -ne 0 ] && printf "%s" "$out" | grep -q "Path not found"; then',
        '  echo "empty registry storage: nothing to collect"',
        "  rc=0",
        "fi",
    ];
}

/** What maintenance keeps (see maintenanceScript). */
export interface RetentionOptions {
    /** Tags kept per repository, the most recently pushed. */
    keepTags: number;
    /** Tags of Kaniko's layer cache (repositories named `cache` or `.../cache`) are dropped once older than this. */
    cacheTtlHours: number;
}

export const DEFAULT_RETENTION: RetentionOptions = { keepTags: 10, cacheTtlHours: 336 };

/**
 * The registry's maintenance, run inside the registry container while the registry serves
 * read-only: first retention (in each repository the `keepTags` most recently pushed tags stay,
 * by the time their tag link was written; in Kaniko's cache repositories every tag older than the
 * cache TTL goes), then `garbage-collect --delete-untagged`, which frees the manifests and blobs
 * no tag refers to any more. Prints what it removed and the storage size before and after.
 */
export function maintenanceScript(r: RetentionOptions): string {
    const repos = `${REGISTRY_PATHS.data}/docker/registry/v2/repositories`;
    return [
        `repos=${repos}`,
        `keep=${r.keepTags}`,
        `ttl=${r.cacheTtlHours * 3600}`,
        "now=$(date +%s)",
        `before=$(du -sk ${REGISTRY_PATHS.data}/docker 2>/dev/null | cut -f1)`,
        'if [ -d "$repos" ]; then',
        `  find "$repos" -type d -path '*/_manifests/tags' | sort > /tmp/tag-dirs`,
        "  while read -r tags; do",
        '    repo=${tags#"$repos"/}; repo=${repo%/_manifests/tags}',
        '    for link in "$tags"/*/current/link; do [ -f "$link" ] && echo "$(stat -c %Y "$link") $link"; done | sort -k1,1rn -k2 > /tmp/tag-links',
        '    case "/$repo" in',
        `      */cache) awk -v now="$now" -v ttl="$ttl" 'now - $1 > ttl { print $2 }' /tmp/tag-links ;;`,
        "      *) tail -n +$((keep + 1)) /tmp/tag-links | cut -d' ' -f2 ;;",
        "    esac > /tmp/tag-drop",
        "    while read -r link; do",
        '      tag=${link%/current/link}; tag=${tag##*/}',
        '      echo "retention: removing tag $repo:$tag"',
        '      rm -rf "$tags/$tag"',
        "    done < /tmp/tag-drop",
        "  done < /tmp/tag-dirs",
        "fi",
        // Uploads cut short (a client gone, the registry restarted, a full volume) keep their data in
        // the repositories' _uploads until distribution purges them after a week; while the registry
        // is read-only none is in progress, so they go now: on a full volume they hold the space the
        // retried push needs.
        `find "$repos" -type d -name _uploads 2>/dev/null > /tmp/upload-dirs`,
        "while read -r uploads; do",
        '  for u in "$uploads"/*; do [ -e "$u" ] && echo "uploads: removing the unfinished upload ${u#"$repos"/} ($(du -sk "$u" | cut -f1) KiB)" && rm -rf "$u"; done',
        "done < /tmp/upload-dirs",
        ...garbageCollectLines(),
        `after=$(du -sk ${REGISTRY_PATHS.data}/docker 2>/dev/null | cut -f1)`,
        'echo "maintenance: storage ${before:-0} KiB -> ${after:-0} KiB"',
        'exit "$rc"',
        "",
    ].join("\n");
}

/**
 * The shell functions run.sh and the mirror's mirror.sh serve the registry with: `serve <config>`
 * starts it in the background, `stop` ends it. A TERM that reaches the child before it has become
 * the registry (between the shell's fork and its exec) is taken by the shell's own handler and
 * lost, and a plain `wait` then waited for ever: the fault suite's registry restarted with a
 * maintenance request pending hung so, serving read-write, the request never run. So `stop` sends
 * TERM again every second until the registry is gone, KILL after 20 s, then reaps it.
 */
export const SERVE_AND_STOP: readonly string[] = [
    'serve() { registry serve "$1" & pid=$!; }',
    'alive() { [ -e "/proc/$1" ] && ! grep -q "^State:[[:space:]]*Z" "/proc/$1/status" 2>/dev/null; }',
    'stop() {',
    '  if [ -n "$pid" ]; then',
    '    n=0',
    '    while alive "$pid" && [ "$n" -lt 200 ]; do',
    '      if [ $((n % 10)) -eq 0 ]; then kill -TERM "$pid" 2>/dev/null; [ "$n" -gt 0 ] && echo "registry $pid still runs $((n / 10)) s after TERM: TERM again"; fi',
    '      sleep 0.1; n=$((n + 1))',
    '    done',
    '    alive "$pid" && { echo "registry $pid did not end on TERM: KILL"; kill -KILL "$pid" 2>/dev/null; }',
    '    wait "$pid" 2>/dev/null; pid=""',
    '  fi',
    '}',
];

/**
 * The in-cluster registry container's command. It serves the registry; when the maintenance
 * CronJob leaves a request on the volume, it restarts the registry read-only (pulls go on, pushes
 * get HTTP 405 "read-only mode", which Kaniko reports and retries with --push-retry), runs
 * maintenanceScript, then restarts it read-write: a fresh process, so no in-memory descriptor of a
 * deleted blob survives (distribution's garbage collection must run while the registry is
 * read-only or stopped, and its blob descriptor cache would otherwise serve blobs that are gone).
 * The result goes back to the CronJob's pod through the volume. SIGTERM stops the registry.
 *
 * The request and the result are file names, not contents: `request.<id>`, an empty file, and
 * its rename to `done.<id>.<exit code>`. Both work on a full volume (an empty file takes no data
 * block, a rename none), where maintenance is needed most: a request written as content failed
 * there with "write error: No space left on device" and was never served. The log is written on
 * the volume (`<id>.log`) after the maintenance, when it has freed space. A request an older Job
 * left as content (`request`) is taken as well, and answered in both forms.
 */
export function registryRunScript(): string {
    const dir = REGISTRY_PATHS.maintenanceDir;
    return [
        "#!/bin/sh",
        "# Written by kaniko-builder: serves the registry, and runs maintenance on request (see maintain.sh).",
        "set -u",
        `dir=${dir}`,
        'mkdir -p "$dir"',
        'pid=""',
        'full=""',
        ...SERVE_AND_STOP,
        "trap 'stop; exit 0' TERM INT",
        `serve ${REGISTRY_PATHS.config}`,
        "while :; do",
        '  if [ -f "$dir/request" ]; then old=$(cat "$dir/request"); [ -n "$old" ] && mv "$dir/request" "$dir/request.$old"; fi',
        '  req=""',
        '  for f in "$dir"/request.*; do [ -e "$f" ] && [ "$f" != "$dir/request.tmp" ] && { req=$f; break; }; done',
        '  if [ -n "$req" ]; then',
        '    id=${req#"$dir"/request.}',
        '    echo "maintenance $id: serving read-only"',
        `    stop; serve ${REGISTRY_PATHS.readOnlyConfig}`,
        `    sh ${REGISTRY_PATHS.configDir}/maintain.sh > /tmp/maintenance.log 2>&1; rc=$?`,
        "    cat /tmp/maintenance.log",
        '    echo "maintenance $id: exit $rc; serving read-write again"',
        `    stop; serve ${REGISTRY_PATHS.config}`,
        '    cp /tmp/maintenance.log "$dir/$id.log" 2>/dev/null; echo "$rc" > "$dir/$id.rc" 2>/dev/null',
        '    mv "$req" "$dir/done.$id.$rc"',
        '    find "$dir" -type f -mtime +30 -delete 2>/dev/null',
        "  fi",
        '  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; echo "registry exited with $rc"; exit "$rc"; fi',
        // A full volume shows in Kaniko's log only as HTTP 500 ("unknown error ... Err:28", or a bare
        // 500 on a HEAD): the registry's log says what it is and what to do, once per episode.
        `  set -- $(df -Pk ${REGISTRY_PATHS.data} 2>/dev/null | awk 'NR == 2 { print $2, $4 }')`,
        '  if [ "$#" -eq 2 ] && [ "$2" -lt $(($1 / 20)) ]; then',
        '    [ -z "$full" ] && echo "volume full: $2 KiB free of $1 KiB on ' + REGISTRY_PATHS.data + ': pushes fail with HTTP 500 (Err:28, no space left on device) until maintenance frees space (kubectl create job --from=cronjob/<registry>-gc) or the volume grows (localRegistryStorageSize)"; full=1',
        '  elif [ "$#" -eq 2 ]; then [ -n "$full" ] && echo "volume no longer full: $2 KiB free of $1 KiB"; full=""',
        "  fi",
        "  sleep 5 & wait $!",
        "done",
        "",
    ].join("\n");
}

/**
 * The maintenance CronJob's command: leaves a request for the registry container (run.sh) on the
 * shared volume (an empty file named by the request's id, which a full volume still takes), waits
 * for its result (the request renamed `done.<id>.<exit code>`, up to an hour) and ends with that
 * exit code and the maintenance's log. A request already pending is waited for, not doubled.
 */
export function maintenanceRequestScript(): string {
    const dir = REGISTRY_PATHS.maintenanceDir;
    return [
        "set -u",
        `dir=${dir}`,
        'mkdir -p "$dir"',
        'id=""',
        'for f in "$dir"/request.*; do [ -e "$f" ] && [ "$f" != "$dir/request.tmp" ] && { id=${f#"$dir"/request.}; break; }; done',
        'if [ -n "$id" ]; then echo "maintenance $id is already requested: waiting for it"',
        'else',
        '  id="$(date +%Y%m%d-%H%M%S)-$HOSTNAME"',
        '  if ! : > "$dir/request.$id"; then echo "maintenance $id: the request could not be left on the volume of the registry ($dir)"; exit 1; fi',
        '  echo "maintenance $id requested"',
        "fi",
        "i=0",
        'result=""',
        'while [ -z "$result" ]; do',
        '  for f in "$dir/done.$id".*; do [ -e "$f" ] && result=$f; done',
        '  [ -n "$result" ] && break',
        "  i=$((i + 1))",
        '  if [ "$i" -gt 720 ]; then echo "maintenance $id: no result after an hour: is the registry pod running?"; exit 1; fi',
        "  sleep 5",
        "done",
        'cat "$dir/$id.log" 2>/dev/null || echo "maintenance $id: its log is in the log of the registry container (the volume had no room for it)"',
        'exit "${result##*.}"',
        "",
    ].join("\n");
}
