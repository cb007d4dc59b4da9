// Builds plugin.wasm from plugin.js with componentize-js's JavaScript API.
// `http` and `fetch-event` are disabled: with them the component imports
// wasi:http, which the Rampart host does not provide.
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const wit = process.env.RAMPART_WIT ?? resolve(here, '../../../../wit');
const { component } = await componentize({
  sourcePath: resolve(here, 'plugin.js'),
  witPath: wit,
  worldName: 'control',
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(resolve(here, 'plugin.wasm'), component);
console.log(`plugin.wasm: ${component.length} bytes`);
