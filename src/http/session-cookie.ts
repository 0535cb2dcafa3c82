/**
 * A browser cannot add an `Authorization` header to page loads or EventSource streams, so off loopback the dashboard
 * exchanges its token once (POST /api/session) for this cookie; the side port then reads it as the bearer token.
 * HttpOnly (page scripts never see it) and SameSite=Strict (no other site can make the browser send it).
 */
export const SESSION_COOKIE = 'rustexec_token';

/** `Bearer <token>` from the session cookie, if the request carries one. */
export function bearerFromCookie(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === SESSION_COOKIE) {
      const v = decodeURIComponent(part.slice(i + 1).trim());
      return v ? `Bearer ${v}` : undefined;
    }
  }
  return undefined;
}

/** The Set-Cookie value holding `token` (`secure` over HTTPS); an empty token clears it. */
export function sessionCookie(token: string, secure: boolean): string {
  const life = token ? 'Max-Age=2592000' : 'Max-Age=0';
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; ${life}${secure ? '; Secure' : ''}`;
}
