// The frame loop: startLoop(step) -> {cancel()}. step(now) runs on animation frames and may
// return a Promise; no new step starts while one is in flight, so at most one frame is ever
// being processed. A step that throws is reported through onError and the loop goes on.

export function startLoop(step, { onError = (error) => console.error(error) } = {}) {
  let handle = 0;
  let inFlight = false;
  let cancelled = false;

  const settle = () => { inFlight = false; };
  const fail = (error) => { inFlight = false; if (!cancelled) onError(error); };

  function tick(now) {
    if (cancelled) return;
    handle = requestAnimationFrame(tick);
    if (inFlight) return;
    let result;
    try {
      result = step(now);
    } catch (error) {
      fail(error);
      return;
    }
    if (result && typeof result.then === 'function') {
      inFlight = true;
      result.then(settle, fail);
    }
  }

  handle = requestAnimationFrame(tick);
  return {
    cancel() {
      cancelled = true;
      cancelAnimationFrame(handle);
    },
  };
}
