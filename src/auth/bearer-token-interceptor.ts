import { InterceptingCall, Interceptor } from '@grpc/grpc-js';

/** Adds `authorization: Bearer <token>` to every call of a client (works on plaintext loopback channels too). */
export function bearerTokenInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}
