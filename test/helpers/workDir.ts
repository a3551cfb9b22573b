/** A temporary directory for one test file: created before its tests, removed after them. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function workDir(prefix: string) {
    const dir = { path: "" };
    beforeAll(() => {
        dir.path = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    });
    afterAll(() => fs.rmSync(dir.path, { recursive: true, force: true }));
    return {
        /** The directory (valid inside tests and hooks). */
        get path() {
            return dir.path;
        },
        /** Writes a file in it and returns its path. */
        write(name: string, content: string): string {
            const file = path.join(dir.path, name);
            fs.writeFileSync(file, content);
            return file;
        },
    };
}
