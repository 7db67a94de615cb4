#!/usr/bin/env node
// The published entry: the compiled CLI (`npm run build` makes dist/; `npm install` runs it).
// The Node check comes first and in plain syntax, so that an old Node prints what it needs
// instead of a missing built-in module.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  console.error(`Hookyard needs Node.js 22.13 or newer (found ${process.versions.node}).`);
  process.exit(1);
}
await import('../dist/cli/main.js');
