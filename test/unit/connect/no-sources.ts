/** Profile sources for resolveConnectionSpec that know no profile and no sandbox. */

export const noSources = { profile: () => ({}), sandbox: () => undefined }
