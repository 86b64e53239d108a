/** The local search index (issue 11): what server/imap's SEARCH uses of it. */
export type { AddressField } from "./addressTexts.ts";
export { dayOf, metaFacts, type SearchFacts } from "./searchFacts.ts";
export type { IndexedBatch, SearchIndex, SearchIndexProgress } from "./searchIndex.ts";
