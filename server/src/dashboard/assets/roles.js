// Roles in the dashboard: controls a member's role cannot use are disabled, with the reason.
// The server refuses them anyway (403 insufficient_role); this only saves people the trip.
// A control says what it needs with `data-needs="developer"` (or admin, owner).

import {h} from './ui.js';

const RANK = {viewer: 0, developer: 1, admin: 2, owner: 3};

/** Whether the signed-in member's role includes `needed`. */
export function can(me, needed) {
  return !!me && (RANK[me.role] ?? -1) >= (RANK[needed] ?? 99);
}

/** The article a role takes in a sentence ("an admin", "a viewer"). */
export const article = (role) => (role === 'admin' || role === 'owner' ? 'an' : 'a');

/** Why `me` cannot do what needs `needed`. */
export function reason(me, needed) {
  return `Needs ${article(needed)} ${needed} (or a higher role); you are ${article(me.role)} ${me.role} in ${me.organization.name}.`;
}

/** Disables the controls under `root` that `me` cannot use, and says why once per page. */
export function gate(root, me) {
  if (!me || !(root instanceof Element)) return;
  const controls = [...(root.matches('[data-needs]') ? [root] : []), ...root.querySelectorAll('[data-needs]')];
  let gated = false;
  for (const control of controls) {
    if (can(me, control.dataset.needs)) continue;
    control.disabled = true;
    control.setAttribute('aria-disabled', 'true');
    control.title = reason(me, control.dataset.needs);
    control.setAttribute('aria-describedby', 'role-notice');
    gated = true;
  }
  const main = document.getElementById('main');
  if (gated && main && !document.getElementById('role-notice')) {
    const notice = h('div', {class: 'notice info', id: 'role-notice', role: 'note'},
      `You are ${article(me.role)} ${me.role} in ${me.organization.name}: you can read everything here, but changes need a higher role. `,
      'An admin can change your role on the Team page.');
    main.prepend(notice);
  }
}

/** Keeps gating whatever the pages and dialogs draw. `current()` gives the signed-in member. */
export function watch(current) {
  new MutationObserver((changes) => {
    const me = current();
    if (!me) return;
    for (const change of changes) for (const node of change.addedNodes) gate(node, me);
  }).observe(document.body, {childList: true, subtree: true});
}
