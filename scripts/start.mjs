#!/usr/bin/env node
/**
 * `npm start`: the service from src/, bundled into plain JavaScript (scripts/bundle.mjs) and run in this process.
 */
import { runBuilt } from './bundle.mjs';

await runBuilt('src/main.ts', ['src']);
