// The team: members and their roles, invitations (the link shown once), and the
// organisation's settings. Controls a role cannot use are disabled with the reason; the
// server refuses them anyway.

import {get, request} from './api.js';
import {confirm, copyButton, dialog, explain, field, formatDate, h, mount, toast} from './ui.js';
import {article, can, reason} from './roles.js';

const ROLES = ['viewer', 'developer', 'admin', 'owner'];
const ROLE_HINT = {
  viewer: 'reads everything; changes nothing',
  developer: 'keys, domains, webhooks, playground',
  admin: 'also members, invitations, settings, audit log',
  owner: 'also owners',
};

/** Whether `me` may change `member` to and from owner as well as other roles. */
const manages = (me, role) => can(me, role === 'owner' ? 'owner' : 'admin');

export async function teamPage(container, {me, refreshMe}) {
  const admin = can(me, 'admin');
  const [members, invitations, settings] = await Promise.all([
    get('/api/developer/members?limit=100'),
    admin ? get('/api/developer/invitations?limit=100') : Promise.resolve(null),
    get('/api/developer/organization'),
  ]);
  const refresh = () => teamPage(container, {me, refreshMe});
  const byId = Object.fromEntries(members.data.map((m) => [m.user_id, m]));

  // --- members ---
  const labels = ['Member', 'Role', 'Joined', 'Actions'];
  const cell = (i, ...content) => h('td', {dataset: {label: labels[i]}}, ...content);
  const rows = members.data.map((member) => {
    const you = member.user_id === me.user.id;
    const editable = manages(me, member.role);
    const select = h('select', {'aria-label': `Role of ${member.email}`, dataset: {userId: member.user_id}, disabled: !editable,
      title: editable ? null : reason(me, member.role === 'owner' ? 'owner' : 'admin')},
      ROLES.filter((r) => r !== 'owner' || can(me, 'owner') || member.role === 'owner')
        .map((r) => h('option', {value: r, selected: r === member.role}, `${r} — ${ROLE_HINT[r]}`)));
    select.addEventListener('change', async () => {
      const role = select.value;
      try {
        await request('PATCH', `/api/developer/members/${member.user_id}`, {body: {role}});
        toast(`${member.email} is now ${article(role)} ${role}`);
        if (you) await refreshMe();
        else await refresh();
      } catch (e) {
        toast(explain(e), 'bad');
        select.value = member.role;
      }
    });
    return h('tr', {dataset: {userId: member.user_id}},
      cell(0, h('strong', {}, member.email), you ? h('span', {class: 'badge neutral'}, 'you') : null),
      cell(1, select),
      cell(2, formatDate(member.joined_at)),
      cell(3, h('div', {class: 'actions'}, h('button', {class: 'button danger-outline small', type: 'button',
        disabled: !editable, title: editable ? null : reason(me, member.role === 'owner' ? 'owner' : 'admin'),
        'aria-label': `Remove ${member.email}`,
        onclick: () => removeMember(member, you).then((done) => done && (you ? refreshMe() : refresh()))}, you ? 'Leave' : 'Remove'))));
  });

  // --- invitations ---
  const email = h('input', {type: 'email', id: 'invite-email', name: 'email', autocomplete: 'off', required: true, placeholder: 'grace@example.com'});
  const role = h('select', {id: 'invite-role', name: 'role'},
    ROLES.filter((r) => r !== 'owner' || can(me, 'owner')).map((r) => h('option', {value: r, selected: r === 'developer'}, `${r} — ${ROLE_HINT[r]}`)));
  const inviteError = h('div', {class: 'error-text', role: 'alert'});
  const invite = h('button', {class: 'button', type: 'submit', id: 'invite', dataset: {needs: 'admin'}}, 'Invite');
  const inviteForm = h('form', {class: 'invite', novalidate: true},
    field('Email', email, 'They accept by signing up, or signing in, with this address.'), field('Role', role), inviteError, invite);
  inviteForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!email.value.includes('@')) {
      inviteError.textContent = 'Enter the email address to invite.';
      email.focus();
      return;
    }
    invite.disabled = true;
    inviteError.textContent = '';
    try {
      const {data} = await request('POST', '/api/developer/invitations', {body: {email: email.value.trim(), role: role.value}});
      await showInvitation(data);
      await refresh();
    } catch (e) {
      inviteError.textContent = explain(e);
      invite.disabled = false;
    }
  });
  const pending = invitations?.data || [];
  const invitationRows = pending.map((inv) => h('tr', {dataset: {invitationId: inv.id}},
    h('td', {dataset: {label: 'Email'}}, inv.email),
    h('td', {dataset: {label: 'Role'}}, h('span', {class: 'badge neutral'}, inv.role)),
    h('td', {dataset: {label: 'Invited by'}}, byId[inv.invited_by]?.email || inv.invited_by),
    h('td', {dataset: {label: 'Expires'}}, formatDate(inv.expires_at)),
    h('td', {dataset: {label: 'Actions'}}, h('button', {class: 'button danger-outline small', type: 'button', dataset: {needs: 'admin'},
      'aria-label': `Revoke the invitation of ${inv.email}`, onclick: () => revokeInvitation(inv).then((done) => done && refresh())}, 'Revoke'))));

  mount(container,
    h('div', {class: 'page-head'}, h('div', {}, h('h1', {}, 'Team'),
      h('p', {}, `The people of ${me.organization.name} and what each may do. You are `, h('strong', {}, me.role), '. ',
        h('a', {href: '/docs/guides/permissions.md'}, 'What each role may do')))),
    h('section', {class: 'card', 'aria-labelledby': 'members-title'}, h('h2', {id: 'members-title'}, `Members (${members.total})`),
      h('div', {class: 'table-wrap'}, h('table', {class: 'responsive', id: 'members-table'},
        h('thead', {}, h('tr', {}, labels.map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, rows)))),
    h('section', {class: 'card', 'aria-labelledby': 'invite-title'}, h('h2', {id: 'invite-title'}, 'Invite someone'),
      admin ? inviteForm : h('p', {class: 'muted'}, reason(me, 'admin')),
      admin ? h('h3', {}, `Pending invitations (${pending.length})`) : null,
      admin ? h('div', {class: 'table-wrap'}, h('table', {class: 'responsive', id: 'invitations-table'},
        h('thead', {}, h('tr', {}, ['Email', 'Role', 'Invited by', 'Expires', 'Actions'].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, invitationRows.length ? invitationRows : h('tr', {}, h('td', {class: 'empty', colspan: 5}, 'No pending invitations.'))))) : null),
    settingsCard(me, settings, refresh));
}

/** Shows a new invitation's link and token, this once. */
function showInvitation(created) {
  return dialog((close) => {
    const copyLink = copyButton('Copy link', () => created.url, 'Invitation link copied', {class: 'button small', id: 'copy-invite-link'});
    const body = h('div', {class: 'dialog-body'},
      h('h2', {}, `Invitation for ${created.invitation.email}`),
      h('div', {class: 'secret-box', id: 'invite-link'},
        h('p', {}, h('strong', {}, 'Send this link now. '), `It is shown once, works for 7 days, and only for ${created.invitation.email} as ${created.invitation.role}.`),
        h('div', {class: 'secret'}, h('code', {id: 'invite-url'}, created.url), copyLink)),
      h('div', {class: 'dialog-actions'}, h('button', {class: 'button', type: 'button', id: 'invite-done', onclick: () => close(true)}, 'Done')));
    setTimeout(() => copyLink.focus());
    return body;
  });
}

async function removeMember(member, you) {
  const sure = await confirm({title: you ? 'Leave the organisation?' : `Remove ${member.email}?`, danger: true,
    action: you ? 'Leave' : 'Remove member',
    message: you ? 'You lose access at once; an admin can invite you again.'
      : 'They lose access at once and their sessions here end. Keys they made stay the organisation’s.'});
  if (!sure) return false;
  try {
    await request('DELETE', `/api/developer/members/${member.user_id}`);
    toast(you ? 'You left the organisation' : `${member.email} removed`);
    return true;
  } catch (e) {
    toast(explain(e), 'bad');
    return false;
  }
}

async function revokeInvitation(inv) {
  const sure = await confirm({title: `Revoke the invitation of ${inv.email}?`, action: 'Revoke', danger: true,
    message: 'The link stops working at once.'});
  if (!sure) return false;
  try {
    await request('DELETE', `/api/developer/invitations/${inv.id}`);
    toast('Invitation revoked');
    return true;
  } catch (e) {
    toast(explain(e), 'bad');
    return false;
  }
}

/** The organisation's name and limits; editable by admins and owners. */
function settingsCard(me, settings, refresh) {
  const name = h('input', {type: 'text', id: 'org-name', maxlength: 100, required: true, value: settings.name});
  const quota = h('input', {type: 'number', id: 'org-quota', min: 0, value: settings.monthly_quota ?? '',
    placeholder: `Default: ${settings.defaults.monthly_quota.toLocaleString()}`});
  const rpm = h('input', {type: 'number', id: 'org-rpm', min: 1, max: 1000000, value: settings.default_rate_limit_rpm ?? '',
    placeholder: `Default: ${settings.defaults.rate_limit_rpm.toLocaleString()}`});
  const error = h('div', {class: 'error-text', role: 'alert'});
  const save = h('button', {class: 'button', type: 'submit', id: 'save-settings', dataset: {needs: 'admin'}}, 'Save settings');
  const editable = can(me, 'admin');
  for (const input of [name, quota, rpm]) input.disabled = !editable;
  const form = h('form', {class: 'settings', novalidate: true},
    field('Organisation name', name),
    field('Monthly quota (/v1 calls per calendar month)', quota, 'Empty: the deployment’s default. Takes effect at once.'),
    field('Default rate limit (requests per minute per key)', rpm, 'For keys without their own limit. Empty: the deployment’s default.'),
    error, save);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    error.textContent = '';
    try {
      await request('PATCH', '/api/developer/organization', {body: {
        name: name.value.trim(),
        monthly_quota: quota.value === '' ? null : Number(quota.value),
        default_rate_limit_rpm: rpm.value === '' ? null : Number(rpm.value),
      }});
      toast('Settings saved');
      await refresh();
    } catch (e) {
      error.textContent = explain(e);
      save.disabled = false;
    }
  });
  return h('section', {class: 'card', 'aria-labelledby': 'settings-title'}, h('h2', {id: 'settings-title'}, 'Organisation settings'), form);
}
