/**
 * A 303 to a path on this app. Relative, because behind `next start -H` or a proxy `request.url` may name another host
 * than the browser used, and the cookie set with the redirect belongs to the browser's host.
 */
export function seeOther(path: string) {
  return new Response(null, { status: 303, headers: { location: path } });
}
