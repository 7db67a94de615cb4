// Typed handlers: `yard.on(source, type, handler)` gives the handler the payload type of that
// event, from @octokit/openapi-webhooks-types (GitHub) and `stripe` (Stripe), through the source's
// provider in the document. The type assertions are judged by `tsc` (npm test's typecheck);
// `expectTypeOf` does nothing at runtime. The runtime tests send real, signed events through a
// yard on loopback and read them through the same typed fields.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { components } from '@octokit/openapi-webhooks-types';
import { expectTypeOf } from 'expect-type';
import type Stripe from 'stripe';
import { createHookyard, type HandlerEvent, type Hookyard } from '../../src/index.ts';
import type { ProviderPayload } from '../../src/library.ts';
import type { MatchedEvents } from '../../src/payload-types.ts';
import { githubHeaders, stripeHeaders } from '../helpers/sign.ts';

type Schemas = components['schemas'];
type GitHubEventName = MatchedEvents<'github', '*'>;

const dir = mkdtempSync(join(tmpdir(), 'hookyard-types-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A yard whose document is written inline: its sources and providers are known to tsc. */
function typedYard(name: string) {
  return createHookyard({
    storage: `sqlite:${join(dir, `${name}.db`)}`,
    log_level: 'silent',
    sources: {
      gh: { provider: 'github', secret: 'gh-secret' },
      pay: { provider: 'stripe', secret: 'whsec_types' },
      slack: { provider: 'slack', secret: 'slack-secret' },
      shop: { provider: 'shopify', secret: 'shop-secret' },
      partner: { provider: 'standard-webhooks', secret: 'whsec_dGVzdA==' },
      custom: { provider: 'hmac', secret: 'hmac-secret', header: 'X-Signature' },
    },
  });
}

describe('typed handlers (checked by tsc)', () => {
  test('each event gets its payload type from the provider package', async () => {
    const yard = typedYard('checks');
    try {
      yard.on('gh', 'push', (event) => {
        expectTypeOf(event.payload).toEqualTypeOf<Schemas['webhook-push']>();
        expectTypeOf(event.payload.commits[0]!.id).toEqualTypeOf<string>();
        expectTypeOf(event.type).toEqualTypeOf<'push'>();
        // @ts-expect-error: a push has no pull_request
        void event.payload.pull_request;
      });
      yard.on('gh', 'pull_request', (event) => {
        expectTypeOf<'opened' | 'closed' | 'synchronize'>().toExtend<typeof event.payload.action>();
        expectTypeOf<'submitted'>().not.toExtend<typeof event.payload.action>();
        expectTypeOf<Schemas['webhook-pull-request-opened']>().toExtend<typeof event.payload>();
        if (event.payload.action === 'opened') {
          expectTypeOf(event.payload).toEqualTypeOf<Schemas['webhook-pull-request-opened']>();
        }
      });
      yard.on('pay', 'checkout.session.completed', (event) => {
        expectTypeOf(event.payload).toEqualTypeOf<Stripe.CheckoutSessionCompletedEvent>();
        expectTypeOf(event.payload.data.object).toEqualTypeOf<Stripe.Checkout.Session>();
        expectTypeOf(event.payload.data.object.id).toEqualTypeOf<string>();
        expectTypeOf(event.type).toEqualTypeOf<'checkout.session.completed'>();
        // @ts-expect-error: a Checkout Session has no `charges`
        void event.payload.data.object.charges;
      });
    } finally {
      await yard.close();
    }
  });

  test('a glob narrows to the union of the events it matches', async () => {
    const yard = typedYard('globs');
    try {
      yard.on('gh', 'pull_request*', (event) => {
        expectTypeOf(event.type).toEqualTypeOf<
          | 'pull_request'
          | 'pull_request_review'
          | 'pull_request_review_comment'
          | 'pull_request_review_thread'
        >();
        // One variant per event type: testing `type` narrows the payload.
        if (event.type === 'pull_request_review') {
          expectTypeOf(event.payload.review.id).toEqualTypeOf<number>();
          expectTypeOf<Schemas['webhook-pull-request-review-submitted']>().toExtend<
            typeof event.payload
          >();
        }
        // @ts-expect-error: not every matched event has a review
        void event.payload.review;
      });
      yard.on('pay', 'payment_intent.*', (event) => {
        expectTypeOf(event.payload.data.object).toEqualTypeOf<Stripe.PaymentIntent>();
        expectTypeOf(event.payload.type).toEqualTypeOf<
          Extract<Stripe.Event['type'], `payment_intent.${string}`>
        >();
        expectTypeOf<'payment_intent.succeeded'>().toExtend<typeof event.type>();
      });
      yard.on('pay', '*.created', (event) => {
        expectTypeOf(event.payload.data.object).not.toBeAny();
        expectTypeOf<'customer.created' | 'invoice.created'>().toExtend<typeof event.type>();
        expectTypeOf<'invoice.paid'>().not.toExtend<typeof event.type>();
      });
      yard.on('gh', '*', (event) => {
        expectTypeOf(event.type).toEqualTypeOf<GitHubEventName>();
      });
      yard.on('pay', '*', (event) => {
        expectTypeOf(event.payload).toEqualTypeOf<Stripe.Event>();
      });
    } finally {
      await yard.close();
    }
  });

  test('wrong event names, unknown sources and mismatched handlers do not compile', async () => {
    const yard = typedYard('refusals');
    try {
      // @ts-expect-error: not a GitHub event
      yard.on('gh', 'psuh', () => {});
      // @ts-expect-error: a glob that matches no GitHub event
      yard.on('gh', 'pull_requets*', () => {});
      // @ts-expect-error: not a Stripe event (it is checkout.session.completed)
      yard.on('pay', 'checkout.session.complete', () => {});
      // @ts-expect-error: GitHub's event name, on the Stripe source
      yard.on('pay', 'push', () => {});
      assert.throws(
        // @ts-expect-error: no source of that name in the document (at runtime: a throw)
        () => yard.on('github', 'push', () => {}),
        /no source named github/,
      );
      // A handler written for other events is refused even with an annotated parameter.
      const onPullRequest = (event: HandlerEvent<ProviderPayload<'github', 'pull_request'>>) =>
        event.payload.number;
      // @ts-expect-error: the push handler gets pushes, not pull requests
      yard.on('gh', 'push', onPullRequest);
      yard.on('gh', 'pull_request', onPullRequest);
      // A handler for a wider type is fine (parameters are contravariant).
      yard.on('gh', 'push', (event: HandlerEvent<{ ref: string }>) => event.payload.ref);
      // The engine is not public (tests reach it through src/library.ts's engineOf).
      // @ts-expect-error: no `engine` on a yard
      void yard.engine;
      assert.equal('engine' in yard, false);
    } finally {
      await yard.close();
    }
  });

  test('providers without a type package give unknown payloads and take any event name', async () => {
    const yard = typedYard('untyped');
    try {
      for (const source of ['slack', 'shop', 'partner', 'custom'] as const) {
        yard.on(source, 'anything.at_all', (event) => {
          expectTypeOf(event.payload).toBeUnknown();
          expectTypeOf(event.type).toEqualTypeOf<string | null>();
        });
      }
      // A payload type given explicitly, on any source (the escape hatch for an event the type
      // package does not know yet, too).
      yard.on<{ team_id: string }>('slack', 'app_mention', (event) => {
        expectTypeOf(event.payload.team_id).toEqualTypeOf<string>();
      });
      yard.on<{ id: string }>('pay', 'v2.core.event_destination.ping', (event) => {
        expectTypeOf(event.payload).toEqualTypeOf<{ id: string }>();
      });
      // …or read from the handler's annotation, as before typed handlers.
      yard.on('partner', 'order.paid', (event: HandlerEvent<{ order: number }>) => {
        expectTypeOf(event.payload.order).toEqualTypeOf<number>();
      });
    } finally {
      await yard.close();
    }
  });

  test('a document not known at compile time gives unknown payloads', async () => {
    const document: Record<string, unknown> = {
      storage: `sqlite:${join(dir, 'dynamic.db')}`,
      log_level: 'silent',
      sources: { gh: { provider: 'github', secret: 'gh-secret' } },
    };
    const yard = createHookyard(document);
    try {
      expectTypeOf<Parameters<typeof yard.on>[0]>().toEqualTypeOf<string>();
      yard.on('gh', 'push', (event) => {
        expectTypeOf(event.payload).toBeUnknown();
      });
      // A provider that is a plain string (from a variable) is untyped too.
      const provider: string = 'github';
      const loose = createHookyard({
        storage: `sqlite:${join(dir, 'loose.db')}`,
        log_level: 'silent',
        sources: { gh: { provider, secret: 'gh-secret' } },
      });
      loose.on('gh', 'anything', (event) => expectTypeOf(event.payload).toBeUnknown());
      await loose.close();
    } finally {
      await yard.close();
    }
  });

  test('a typed yard is a Hookyard; ProviderPayload names a payload for a handler apart', async () => {
    const yard = typedYard('assignable');
    try {
      const takesAnyYard = (y: Hookyard) => y;
      // Through a bare `Hookyard`, every source name goes and payloads are unknown.
      takesAnyYard(yard).on('gh', 'anything', (event) => {
        expectTypeOf(event.payload).toBeUnknown();
        expectTypeOf(event.type).toEqualTypeOf<string | null>();
      });
      expectTypeOf<ProviderPayload<'github', 'push'>>().toEqualTypeOf<Schemas['webhook-push']>();
      expectTypeOf<
        ProviderPayload<'stripe', 'invoice.paid'>
      >().toEqualTypeOf<Stripe.InvoicePaidEvent>();
      expectTypeOf<ProviderPayload<'slack', 'app_mention'>>().toBeUnknown();
      expectTypeOf<ProviderPayload<'github', 'no_such_event'>>().toBeUnknown();
    } finally {
      await yard.close();
    }
  });
});

// The X-GitHub-Event names of every event GitHub is known to send (those of
// @octokit/webhooks-examples, real deliveries; the test below keeps this list equal to it).
const GITHUB_SENDS = [
  'branch_protection_rule',
  'check_run',
  'check_suite',
  'code_scanning_alert',
  'commit_comment',
  'create',
  'delete',
  'dependabot_alert',
  'deploy_key',
  'deployment',
  'deployment_review',
  'deployment_status',
  'discussion',
  'discussion_comment',
  'fork',
  'github_app_authorization',
  'gollum',
  'installation',
  'installation_repositories',
  'issue_comment',
  'issues',
  'label',
  'marketplace_purchase',
  'member',
  'membership',
  'merge_group',
  'meta',
  'milestone',
  'organization',
  'org_block',
  'package',
  'page_build',
  'ping',
  'project',
  'project_card',
  'project_column',
  'projects_v2_item',
  'public',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'pull_request_review_thread',
  'push',
  'release',
  'repository_dispatch',
  'repository',
  'repository_import',
  'repository_vulnerability_alert',
  'security_advisory',
  'sponsorship',
  'star',
  'status',
  'team',
  'team_add',
  'watch',
  'workflow_dispatch',
  'workflow_job',
  'workflow_run',
] as const;
// GitHub's operation names are kebab-case `event/action`; the event types are the header's
// snake_case names. Every name GitHub sends must be one of them.
expectTypeOf<(typeof GITHUB_SENDS)[number]>().toExtend<GitHubEventName>();

describe('typed handlers at runtime', () => {
  test('the GitHub names above are those of real deliveries', () => {
    const require = createRequire(import.meta.url);
    const examples = require('@octokit/webhooks-examples') as { name: string }[];
    assert.deepEqual(examples.map((e) => e.name).sort(), [...GITHUB_SENDS].sort());
  });

  test('a signed push, pull request review and Checkout Session reach their typed handlers', async () => {
    const yard = typedYard('runtime');
    const seen: string[] = [];
    yard
      .on('gh', 'push', (event) => {
        seen.push(`push ${event.payload.ref} ${event.payload.commits.length}`);
      })
      .on('gh', 'pull_request*', (event) => {
        if (event.type === 'pull_request_review') {
          seen.push(`review ${event.payload.action} ${event.payload.review.id}`);
        }
      })
      .on('pay', 'checkout.session.completed', (event) => {
        seen.push(`checkout ${event.payload.data.object.id}`);
      });
    const server = createServer(yard.node());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const require = createRequire(import.meta.url);
      const examples = require('@octokit/webhooks-examples') as {
        name: string;
        examples: { action?: string; ref?: string; commits?: unknown[]; review?: { id: number } }[];
      }[];
      const example = (name: string, action?: string) => {
        const found = examples
          .find((e) => e.name === name)
          ?.examples.find((x) => action === undefined || x.action === action);
        assert.ok(found, `${name} ${action ?? ''}`);
        return found;
      };
      const push = example('push');
      const review = example('pull_request_review', 'submitted');
      const sends: [string, string, Record<string, string>][] = [];
      for (const [name, payload] of [
        ['push', push],
        ['pull_request_review', review],
      ] as const) {
        const body = JSON.stringify(payload);
        sends.push(['gh', body, await githubHeaders(body, 'gh-secret', name, randomUUID())]);
      }
      const checkout = JSON.stringify({
        id: `evt_${randomUUID()}`,
        object: 'event',
        type: 'checkout.session.completed',
        data: { object: { id: 'cs_test_typed', object: 'checkout.session' } },
      });
      sends.push(['pay', checkout, stripeHeaders(checkout, 'whsec_types')]);
      for (const [source, body, headers] of sends) {
        const res = await fetch(`${base}/webhooks/${source}`, { method: 'POST', body, headers });
        assert.equal(res.status, 200, await res.text());
      }
      const expected = [
        `push ${push.ref} ${push.commits?.length}`,
        `review submitted ${review.review?.id}`,
        'checkout cs_test_typed',
      ];
      const end = Date.now() + 5000;
      while (seen.length < expected.length && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual([...seen].sort(), [...expected].sort());
    } finally {
      await new Promise((r) => server.close(r));
      await yard.close();
    }
  });
});
