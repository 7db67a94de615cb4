// Types only: what `yard.on(source, type, handler)` hands its handler, from the providers' own
// type packages — GitHub's from @octokit/openapi-webhooks-types (generated from GitHub's
// OpenAPI description of its webhooks), Stripe's from the `stripe` package's `Stripe.Event`
// union. Both are optional peer dependencies: this module must compile, in a user's project,
// whether or not they are installed.
//
// How: each package is reached through one `import('…')` type, preceded by a JSDoc
// `@ts-ignore`. TypeScript drops `//` comments from emitted declarations but keeps JSDoc, and it
// reads a `/** @ts-ignore */` comment as the directive, so the emitted .d.ts carries it too. When
// the package is absent the import is an error type (with or without skipLibCheck) that `Absent`
// below turns into "no types for this provider": payloads are `unknown` and any event name is
// accepted, exactly as for providers without a type package (slack, shopify, standard-webhooks,
// hmac). The types describe what a signed sender is expected to send; nothing is validated at
// runtime.

/* eslint-disable @typescript-eslint/ban-ts-comment, @typescript-eslint/consistent-type-imports --
   see above: the directive must survive declaration emit, which only JSDoc comments do, and
   stand right above the use of the package (an `import type` statement loses its comments).
   An expect-error directive would fail wherever the package IS installed, as in our build. */

/** @ts-ignore optional peer dependency @octokit/openapi-webhooks-types (absent: see `Absent`) */
type GitHubOperations = import('@octokit/openapi-webhooks-types').operations;

/** @ts-ignore optional peer dependency `stripe` (absent: see `Absent`) */
type StripeEventUnion = import('stripe').default.Event;

/* eslint-enable @typescript-eslint/ban-ts-comment, @typescript-eslint/consistent-type-imports */

/** True for `any`, and for the error type of an unresolved import under the directive above —
 * which the usual `0 extends 1 & T` misses (a conditional on the error type is the error type),
 * but whose keys, like those of `any`, are every string. */
type Absent<T> = string extends keyof T ? true : false;

/** `pull-request-review` → `pull_request_review`: GitHub's operation names are kebab-case,
 * the `X-GitHub-Event` header (Hookyard's event type for GitHub) is snake_case. */
type Snake<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${Snake<B>}` : S;

/** An operation is `event/action` (`pull-request/opened`) or the event alone (`push`). */
type GitHubEventOf<K extends string> = Snake<K extends `${infer E}/${string}` ? E : K>;

type JsonBody<Operation> = Operation extends {
  requestBody: { content: { 'application/json': infer B } };
}
  ? B
  : never;

/** `X-GitHub-Event` value → the union of its payloads (one per action). Operations that map
 * to the same event merge into one key, whose type is the union. */
type GitHubEvents =
  Absent<GitHubOperations> extends true
    ? null
    : {
        [K in keyof GitHubOperations & string as GitHubEventOf<K>]: JsonBody<GitHubOperations[K]>;
      };

/** Stripe's `type` → that event (the whole body is the event object). */
type StripeEvents =
  Absent<StripeEventUnion> extends true
    ? null
    : { [E in StripeEventUnion as E extends { type: infer T extends string } ? T : never]: E };

/**
 * The providers whose events are typed: provider name → (event type → payload), or `null`
 * when the provider's type package is not installed.
 */
export interface TypedProviders {
  github: GitHubEvents;
  stripe: StripeEvents;
}

/** The event map of a provider, or `null` when its events are not typed (also for `any`: the
 * provider of a source of a bare `Hookyard`). */
type EventMap<Provider> = 0 extends 1 & Provider
  ? null
  : Provider extends keyof TypedProviders
    ? TypedProviders[Provider]
    : null;

/** A route glob (`*` = any run of characters, possibly empty) as a template literal type. */
export type GlobPattern<P extends string> = P extends `${infer Head}*${infer Rest}`
  ? `${Head}${string}${GlobPattern<Rest>}`
  : P;

/** The event types of `Provider` that the glob `P` matches (`never` if none, `string` when the
 * provider's events are not typed or `P` is not a literal). */
export type MatchedEvents<Provider, P extends string> =
  EventMap<Provider> extends infer M
    ? M extends object
      ? string extends P
        ? string
        : Extract<keyof M, GlobPattern<P>>
      : string
    : never;

/** The event types of `Provider`; any string when its events are not typed. */
type EventNamesOf<Provider> =
  EventMap<Provider> extends infer M ? (M extends object ? keyof M & string : string) : never;

/** `P` when it names an event of `Provider` or is a glob that matches one; otherwise the event
 * types of `Provider`, which the compiler's error then lists. For a `P` that is not a literal,
 * any string, with the event types offered as completions. */
export type CheckedPattern<Provider, P extends string> = string extends P
  ? EventNamesOf<Provider> | (string & {})
  : [MatchedEvents<Provider, P>] extends [never]
    ? EventNamesOf<Provider>
    : P;

/**
 * The payload of the `Provider` events that `Pattern` matches — for handlers written apart from
 * their `yard.on`: `(event: HandlerEvent<ProviderPayload<'github', 'push'>>) => …`.
 * `unknown` when the provider's events are not typed (or its type package is not installed).
 */
export type ProviderPayload<Provider extends string, Pattern extends string = '*'> =
  EventMap<Provider> extends infer M
    ? M extends object
      ? string extends Pattern
        ? unknown
        : [MatchedEvents<Provider, Pattern>] extends [never]
          ? unknown
          : M[MatchedEvents<Provider, Pattern> & keyof M]
      : unknown
    : never;
