// Docs: every operation of the spec, grouped by tag, and the documents to take away.

import {example, operations, resolve} from './api.js';
import {copyButton, h, inline, markdown, methodBadge, mount} from './ui.js';

export async function docsPage(container) {
  // The document with every operation's code samples (x-codeSamples).
  const doc = await fetch('/openapi.samples.json').then((r) => r.json());
  const ops = operations(doc);
  const tags = doc.tags.filter((t) => ops.some((o) => o.tag === t.name));

  // The exact bytes the server publishes.
  const published = (path) => () => fetch(path).then((r) => r.text());

  mount(container,
    h('div', {class: 'page-head'},
      h('div', {}, h('h1', {}, 'API reference'), h('p', {}, `${doc.info.title} ${doc.info.version} — ${ops.length} operations, generated from the server's own annotations.`)),
      h('div', {class: 'row'},
        copyButton('Copy llms.txt', published('/llms.txt'), 'llms.txt copied', {id: 'copy-llms', class: 'button secondary'}),
        copyButton('Copy openapi.json', published('/openapi.json'), 'openapi.json copied', {id: 'copy-openapi', class: 'button secondary'}),
        h('a', {class: 'button secondary', href: '/postman.json', download: 'portico.postman_collection.json', id: 'download-postman'}, 'Download Postman collection'),
        h('a', {class: 'button', href: '/docs/', target: '_blank', rel: 'noopener'}, 'Swagger UI ↗'))),
    h('div', {class: 'docs-layout'},
      h('nav', {class: 'toc card', 'aria-label': 'Groups'}, tags.map((t) => h('a', {href: `#/docs`, dataset: {tag: t.name}, onclick: (e) => {
        e.preventDefault();
        const section = document.getElementById(`tag-${t.name}`);
        // The heading lands below the sticky bar (scroll-margin-top), and focus follows.
        section?.scrollIntoView({behavior: 'smooth', block: 'start'});
        section?.querySelector('h2')?.focus({preventScroll: true});
      }}, t.name))),
      h('div', {class: 'docs-main'}, tags.map((tag) => h('section', {id: `tag-${tag.name}`, class: 'docs-section'},
        h('h2', {tabindex: '-1'}, tag.name),
        markdown(tag.description),
        ops.filter((o) => o.tag === tag.name).map((o) => operation(doc, o)))))));
}

function operation(doc, {method, path, op}) {
  const body = h('div', {class: 'op-body'});
  const details = h('details', {class: 'op', dataset: {operation: op.operationId}},
    h('summary', {}, methodBadge(method), h('span', {class: 'op-path'}, path), h('span', {class: 'op-summary'}, op.summary || '')),
    body);
  // Rendered on first open: the page stays light with every operation on it.
  details.addEventListener('toggle', () => {
    if (details.open && !body.childElementCount) fill(doc, body, method, path, op);
  });
  return details;
}

function fill(doc, body, method, path, op) {
  const params = (op.parameters || []).map((p) => resolve(doc, p));
  const requestSchema = op.requestBody?.content && Object.entries(op.requestBody.content)[0];
  const responses = Object.entries(op.responses || {});
  mount(body,
    markdown(op.description || ''),
    h('p', {class: 'small'}, h('strong', {}, 'Operation id: '), h('code', {}, op.operationId),
      op['x-required-scope'] ? [' · ', h('strong', {}, 'Scope: '), h('code', {}, op['x-required-scope'])] : null),
    params.length ? [h('h3', {}, 'Parameters'), h('div', {class: 'table-wrap'}, h('table', {},
      h('thead', {}, h('tr', {}, ['Name', 'In', 'Type', 'Description'].map((t) => h('th', {}, t)))),
      h('tbody', {}, params.map((p) => h('tr', {},
        h('td', {}, h('code', {}, p.name), p.required ? ' *' : ''),
        h('td', {}, p.in),
        h('td', {}, h('code', {}, typeName(doc, p.schema || {}))),
        h('td', {}, markdown(p.description || ''))))))) ] : null,
    requestSchema ? [
      h('h3', {}, `Request body (${requestSchema[0]})`),
      h('div', {class: 'schema'}, shape(doc, requestSchema[1].schema)),
      requestSchema[0] === 'application/json' ? [h('h3', {}, 'Example'), h('pre', {class: 'body', tabindex: '0', 'aria-label': 'Example request body'}, JSON.stringify(example(doc, requestSchema[1].schema), null, 2))] : null,
    ] : null,
    samples(op),
    h('h3', {}, 'Responses'),
    responses.map(([status, shared]) => response(doc, status, shared)));
}

/** One documented answer: status, description, codes, its body's shape and an example. */
function response(doc, status, shared) {
  const answer = resolve(doc, shared);
  const content = answer.content && Object.entries(answer.content)[0];
  const schema = content?.[1]?.schema;
  const examples = content?.[1]?.examples ? Object.entries(content[1].examples) : [];
  const kind = status < 300 ? 'ok' : status < 400 ? 'info' : status < 500 ? 'warn' : 'bad';
  const sample = examples.length ? resolve(doc, examples[0][1]).value : (schema && content[0].includes('json') ? example(doc, schema) : undefined);
  return h('div', {class: 'response'},
    h('div', {class: 'response-head'},
      h('span', {class: `badge ${kind}`}, status),
      h('span', {}, inline(answer.description || '')),
      schema ? h('code', {class: 'small'}, typeName(doc, schema)) : null,
      examples.map(([code]) => h('span', {class: 'chip'}, code))),
    schema && resolve(doc, schema).properties ? h('details', {class: 'response-detail'},
      h('summary', {}, 'Body and example'),
      h('div', {class: 'schema'}, shape(doc, schema)),
      sample !== undefined ? h('pre', {class: 'body', tabindex: '0', 'aria-label': `Example ${status} body`}, JSON.stringify(sample, null, 2)) : null) : null);
}

/** The operation's samples (curl, JavaScript, Python, Rust): one tab each, with Copy. */
function samples(op) {
  const list = op['x-codeSamples'] || [];
  if (!list.length) return null;
  const code = h('pre', {class: 'body sample', dataset: {lang: list[0].lang}, tabindex: '0', role: 'region', 'aria-label': `${list[0].lang} sample`}, list[0].source);
  const tabs = list.map((sample, i) => h('button', {
    class: `tab${i === 0 ? ' active' : ''}`, type: 'button', role: 'tab', 'aria-selected': String(i === 0),
    dataset: {lang: sample.lang},
    onclick: (e) => {
      for (const tab of e.target.parentElement.children) {
        tab.classList.toggle('active', tab === e.target);
        tab.setAttribute('aria-selected', String(tab === e.target));
      }
      code.textContent = sample.source;
      code.dataset.lang = sample.lang;
      code.setAttribute('aria-label', `${sample.lang} sample`);
    },
  }, sample.label === 'portico-sdk' ? 'Rust' : sample.lang === 'Shell' ? 'curl' : sample.lang));
  return [
    h('h3', {}, 'Samples'),
    h('div', {class: 'samples'},
      h('div', {class: 'row sample-tabs'},
        h('div', {class: 'row', role: 'tablist', 'aria-label': 'Sample language'}, tabs),
        copyButton('Copy', () => code.textContent, 'Sample copied', {class: 'button secondary small copy-sample'})),
      code),
  ];
}

/** A short name for a schema's type. */
function typeName(doc, schema) {
  if (schema.$ref) return schema.$ref.split('/').pop();
  const type = Array.isArray(schema.type) ? schema.type.filter((t) => t !== 'null').join(' | ') + (schema.type.includes('null') ? '?' : '') : schema.type;
  if (type === 'array' || schema.items) return `${typeName(doc, schema.items || {})}[]`;
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  return (type || 'any') + (schema.format ? ` (${schema.format})` : '');
}

/** An object schema as `field: type — description` lines. */
function shape(doc, schema, indent = '', depth = 0) {
  const s = resolve(doc, schema);
  const parts = s.allOf ? s.allOf.map((p) => resolve(doc, p)) : [s];
  const lines = [];
  for (const part of parts) {
    for (const [name, property] of Object.entries(part.properties || {})) {
      const required = (part.required || []).includes(name) ? '' : '?';
      const description = (property.description || resolve(doc, property).description || '').replace(/\s*\n\s*/g, ' ').replace(/`/g, '');
      lines.push(`${indent}${name}${required}: ${typeName(doc, property)}${description ? `  — ${description}` : ''}`);
      const nested = resolve(doc, property);
      if (depth < 1 && nested.properties && !property.$ref) lines.push(shape(doc, nested, `${indent}  `, depth + 1));
    }
  }
  return lines.join('\n') || typeName(doc, schema);
}
