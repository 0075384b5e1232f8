/**
 * Text PostgreSQL cannot store (a NUL byte) or that is not valid Unicode (a UTF-16 surrogate without its pair) is
 * refused wherever a client hands the service a string, keys of JSON objects included. So is a JSON key named
 * __proto__: a prototype-pollution vector that Prisma's JSON serialiser also fails on.
 */
export interface TextProblem {
  path: string;
  message: string;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function describeTextProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain NUL bytes';
  if (LONE_SURROGATE.test(text)) return 'must be valid Unicode (it contains an unpaired surrogate)';
  return null;
}

export function findTextProblem(value: unknown, path: string, depth = 0): TextProblem | null {
  if (typeof value === 'string') {
    const message = describeTextProblem(value);
    return message ? { path, message } : null;
  }
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const problem = findTextProblem(value[index], `${path}.${index}`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (value instanceof Date || value instanceof URL) return null;
  for (const [key, item] of Object.entries(value)) {
    const keyMessage = key === '__proto__' ? 'must not be "__proto__"' : describeTextProblem(key);
    if (keyMessage) return { path, message: `keys ${keyMessage}` };
    const problem = findTextProblem(item, path ? `${path}.${key}` : key, depth + 1);
    if (problem) return problem;
  }
  return null;
}
