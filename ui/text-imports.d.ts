/** Text imports (`with { type: "text" }`): the bundler inlines them, so `bun build --compile` embeds them. */
declare module "htmx.org/dist/htmx.min.js" {
  const source: string;
  export default source;
}

declare module "*.css" {
  const source: string;
  export default source;
}
