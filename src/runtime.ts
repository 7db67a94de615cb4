// Imported first by every entry (the library's index and the CLI): on an older Node, say which
// Node Hookyard needs instead of failing later on a missing built-in (node:sqlite came in 22.5
// behind a flag, and without one in 22.13).
const MIN = [22, 13] as const;
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) {
  throw new Error(
    `Hookyard needs Node.js ${MIN.join('.')} or newer (found ${process.versions.node})`,
  );
}
