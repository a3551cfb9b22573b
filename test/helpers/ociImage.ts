/**
 * Writes a one-layer OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * without any container tooling: a tar layer holding one file, its config, manifest and index.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** A POSIX ustar archive with one regular file. */
function tarWithOneFile(name: string, content: Buffer): Buffer {
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, "ascii");
    field(0, 100, name);
    field(100, 8, "0000644\0");
    field(108, 8, "0000000\0");
    field(116, 8, "0000000\0");
    field(124, 12, `${content.length.toString(8).padStart(11, "0")}\0`);
    field(136, 12, "00000000000\0");
    field(156, 1, "0");
    field(257, 6, "ustar\0");
    field(263, 2, "00");
    header.fill(" ", 148, 156);
    const checksum = header.reduce((sum, byte) => sum + byte, 0);
    field(148, 8, `${checksum.toString(8).padStart(6, "0")}\0 `);
    const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
    return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

export interface OciImage {
    /** The layout directory, for `skopeo copy oci:<dir>:<tag>`. */
    dir: string;
    tag: string;
    /** The manifest's digest (`sha256:...`). */
    manifestDigest: string;
}

/** Writes the image; `content` (the one file's text) makes images differ. */
export function writeOciImage(dir: string, tag = "latest", content = "built by kaniko-builder's end-to-end test\n"): OciImage {
    const blobs = path.join(dir, "blobs", "sha256");
    fs.mkdirSync(blobs, { recursive: true });
    const put = (data: Buffer) => {
        const hex = sha256(data);
        fs.writeFileSync(path.join(blobs, hex), data);
        return { digest: `sha256:${hex}`, size: data.length };
    };
    const tar = tarWithOneFile("hello.txt", Buffer.from(content));
    const layer = put(zlib.gzipSync(tar));
    const config = put(
        Buffer.from(
            JSON.stringify({
                architecture: "amd64",
                os: "linux",
                config: { Cmd: ["/hello.txt"] },
                rootfs: { type: "layers", diff_ids: [`sha256:${sha256(tar)}`] },
            }),
        ),
    );
    const manifest = put(
        Buffer.from(
            JSON.stringify({
                schemaVersion: 2,
                mediaType: "application/vnd.oci.image.manifest.v1+json",
                config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
                layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
            }),
        ),
    );
    fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(
        path.join(dir, "index.json"),
        JSON.stringify({
            schemaVersion: 2,
            manifests: [
                {
                    mediaType: "application/vnd.oci.image.manifest.v1+json",
                    ...manifest,
                    annotations: { "org.opencontainers.image.ref.name": tag },
                },
            ],
        }),
    );
    return { dir, tag, manifestDigest: manifest.digest };
}
