/**
 * The playground's entry, loaded with the page: a few hundred bytes that wait
 * until the section nears the viewport and only then import TensorFlow.js, the
 * library and the demo's files (site/scripts/playground-app.ts), so the
 * article's first load does not carry them.
 */
const root = document.querySelector<HTMLElement>('[data-playground]');
if (root) {
  const start = () => {
    // The clock the playground's stage times (data-timings) count from.
    root.dataset.startedAt = String(performance.now());
    root.dataset.state = 'loading';
    import('./playground-app.ts')
      .then(({ startPlayground }) => startPlayground(root))
      .catch((error: Error) => {
        const message = root.querySelector<HTMLElement>('[data-message]')!;
        message.dataset.error = '';
        message.textContent = `The playground could not start: ${error.message}`;
        root.dataset.state = 'error';
      });
  };
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) {
      observer.disconnect();
      start();
    }
    // About a screen ahead: the backend and files are on their way before the reader arrives.
  }, { rootMargin: '1200px 0px' });
  observer.observe(root);
}
