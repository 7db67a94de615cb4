#!/usr/bin/env node
// The published entry: the compiled CLI (`npm run build` makes dist/; `npm install` runs it).
import '../dist/cli/main.js';
