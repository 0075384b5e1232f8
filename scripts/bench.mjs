#!/usr/bin/env node
/**
 * `npm run bench`: bench/run.ts, with the server it measures, bundled as `npm start` bundles the service
 * (scripts/bundle.mjs), so the figures are those of the code production runs and not of tsx's hooks on its path.
 */
import { runBuilt } from './bundle.mjs';

await runBuilt('bench/run.ts', ['src', 'bench']);
