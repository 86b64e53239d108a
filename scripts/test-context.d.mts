/** Whether node:test's harness took its hook from test-context.mjs in this process. */
export declare let engaged: boolean;
