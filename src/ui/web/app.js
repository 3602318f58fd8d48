// The dashboard page: a hash router over three views — #/ (runs table), #/run/ID/TAB (a run),
// #/compare/ID,ID,… (runs side by side) — and the polling that keeps them live.
import { adoptUrlToken } from './api.js';
import { anyRunning, loadInfo, loadRuns, startPolling, storeInfo } from './live.js';
import { runsView } from './runs.js';
import { getSelected, onSelection } from './state.js';
import { notice } from './util.js';

// The run and compare views (and uPlot with them) load apart, so that the runs table does not
// wait for them: while the runs load when the page opens on them, else soon after the table shows.
const MODULES = { run: () => import('./run.js'), compare: () => import('./compare.js') };
const loaded = {};
const load = (name) => {
  loaded[name] ??= MODULES[name]();
  return loaded[name];
};
const lazy = (module, name) => {
  const make = async (main, args) => (await load(module))[name](main, args);
  make.preload = () => load(module);
  return make;
};
const ROUTES = [
  [/^#?\/?$/, runsView, 'runs'],
  [/^#\/run\/([0-9a-z]+)(?:\/(\w+))?$/, lazy('run', 'runView'), 'runs'],
  [/^#\/compare(?:\/([0-9a-z,]*))?$/, lazy('compare', 'compareView'), 'compare'],
];

const main = document.getElementById('main');
let view = null;

let routed = 0;

async function route() {
  const seq = ++routed;
  view?.dispose?.();
  view = null;
  window.scrollTo(0, 0);
  const hash = location.hash || '#/';
  for (const [re, make, nav] of ROUTES) {
    const m = re.exec(hash);
    if (!m) continue;
    for (const a of document.querySelectorAll('[data-nav]'))
      a.classList.toggle('active', a.dataset.nav === nav);
    try {
      const made = (await make(main, m.slice(1))) ?? {};
      // a newer route may have started while this view's module loaded
      if (seq === routed) view = made;
      else made.dispose?.();
    } catch (e) {
      main.replaceChildren(notice(`Could not show ${hash}: ${e.message}`, 'error'));
    }
    return;
  }
  main.replaceChildren(notice(`No page ${hash}.`, 'error'));
}

function updateNav() {
  const n = getSelected().length;
  const badge = document.getElementById('sel-count');
  badge.textContent = n ? String(n) : '';
  badge.hidden = n === 0;
  document.querySelector('[data-nav="compare"]').href = `#/compare/${getSelected().join(',')}`;
  const live = document.getElementById('live');
  live.hidden = !anyRunning();
}

async function start() {
  adoptUrlToken();
  ROUTES.find(([re]) => re.test(location.hash || '#/'))?.[1].preload?.();
  try {
    await Promise.all([loadInfo(), loadRuns()]);
  } catch (e) {
    main.replaceChildren(notice(`Could not load the runs: ${e.message}`, 'error'));
    return;
  }
  const store = document.getElementById('store');
  store.textContent = storeInfo().runsDir;
  store.title = `run store: ${storeInfo().runsDir} (read-only)`;
  onSelection(updateNav);
  updateNav();
  window.addEventListener('hashchange', route);
  route();
  startPolling(async () => {
    updateNav();
    await view?.tick?.();
  });
  document.body.dataset.ready = 'true';
  setTimeout(() => Object.keys(MODULES).forEach(load), 300);
}

start();
