import { ServerInterceptingCall, ServerInterceptor, status as Status } from '@grpc/grpc-js';

/** Sees every gRPC call: `start` when it begins; the function it returns once, with the final status code. */
export interface RpcObserver {
  start(path: string): (code: Status) => void;
}

/**
 * A server interceptor that reports each call's start and final status to `observer` (RPC metrics), for unary and
 * streaming calls alike, including calls refused by authentication and calls the client cancelled.
 */
export function rpcObserverInterceptor(observer: RpcObserver): ServerInterceptor {
  return (method, call) => {
    const done = observer.start(method.path);
    let finished = false;
    const finish = (code: Status) => {
      if (finished) return;
      finished = true;
      done(code);
    };
    return new ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => finish(Status.CANCELLED) }),
      sendStatus: (s, next) => {
        finish(s.code);
        next(s);
      },
    });
  };
}
