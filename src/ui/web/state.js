// What the page remembers across views and reloads: the runs selected for comparison (in order:
// a run's colour is its place in the selection) and view preferences, in localStorage.
import { colorAt } from './util.js';

const SELECTED = 'keel.selected';
const listeners = new Set();

function load(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? 'null');
    return v ?? fallback;
  } catch {
    return fallback;
  }
}

let selected = load(SELECTED, []).filter((x) => typeof x === 'string');

export const getSelected = () => [...selected];

export function setSelected(ids) {
  selected = [...new Set(ids)];
  localStorage.setItem(SELECTED, JSON.stringify(selected));
  for (const fn of listeners) fn(selected);
}

export function toggleSelected(id, on = !selected.includes(id)) {
  setSelected(on ? [...selected, id] : selected.filter((x) => x !== id));
}

/** Calls fn(ids) on every change; returns the unsubscribe function. */
export function onSelection(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The run's colour while it is selected (its place in the selection), else null. */
export function selectedColor(id) {
  const i = selected.indexOf(id);
  return i < 0 ? null : colorAt(i);
}

/** A remembered preference (JSON) under keel.pref.<name>. */
export const pref = (name, fallback) => load(`keel.pref.${name}`, fallback);
export const setPref = (name, value) => localStorage.setItem(`keel.pref.${name}`, JSON.stringify(value));
