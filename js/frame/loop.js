// The frame loop: startLoop(step) -> {cancel(), poke()}. step(now) runs on animation frames and
// may return a Promise; no new step starts while one is in flight, so at most one frame is ever
// being started. A step that throws is reported through onError and the loop goes on. poke()
// runs a step now, between animation frames: for a device whose work ends outside them (a frame
// worker's reply), so the next frame is handed out at once instead of up to a display frame later.

export function startLoop(step, { onError = (error) => console.error(error) } = {}) {
  let handle = 0;
  let inFlight = false;
  let cancelled = false;

  const settle = () => { inFlight = false; };
  const fail = (error) => { inFlight = false; if (!cancelled) onError(error); };

  function tick(now) {
    if (cancelled) return;
    handle = requestAnimationFrame(tick);
    run(now);
  }

  function run(now) {
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
    poke() {
      // Not in a hidden tab: there animation frames stop, and so should the frames.
      if (!cancelled && document.visibilityState !== 'hidden') run(performance.now());
    },
  };
}
