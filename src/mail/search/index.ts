/** The local search index (issue 11): what server/imap's SEARCH uses of it. */
export type { AddressField } from "./addressTexts.ts";
export { dayOf, metaFacts, type SearchFacts } from "./searchFacts.ts";
export {
  FILTER_MAX_IDS,
  KEEP_OPEN_DOCS,
  type IndexedBatch,
  type SearchIndex,
  type SearchIndexProgress,
} from "./searchIndex.ts";
