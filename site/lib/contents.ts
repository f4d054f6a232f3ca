/**
 * The table of contents and heading anchors, made from the page's rendered
 * HTML: every <section id> whose first element is its <h2> becomes an entry,
 * and that heading gets a visible link to its section (#id).
 */

export interface SectionEntry {
  id: string;
  /** The heading's HTML without tags (entities kept as written). */
  title: string;
}

const sectionHeading = /(<section\b[^>]*?\sid="([^"]+)"[^>]*>\s*<h2\b[^>]*>)([\s\S]*?)<\/h2>/g;

const textOf = (html: string) => html.replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim();

/** Every section with an id, in page order, with its heading's text (the id itself where it has no h2 first). */
export function sectionsOf(html: string): SectionEntry[] {
  const headings = new Map([...html.matchAll(sectionHeading)].map((match) => [match[2], textOf(match[3])]));
  return [...html.matchAll(/<section\b[^>]*?\sid="([^"]+)"/g)].map((match) => ({ id: match[1], title: headings.get(match[1]) || match[1] }));
}

/** The page with a "#" link to its section at the end of each section's h2. */
export function addHeadingAnchors(html: string): string {
  return html.replace(sectionHeading, (_, opening: string, id: string, inner: string) =>
    `${opening}${inner}<a class="heading-anchor" href="#${id}" aria-label="Link to the section ${textOf(inner).replace(/"/g, '&quot;')}">#</a></h2>`,
  );
}

export function tableOfContents(sections: SectionEntry[]): string {
  if (sections.length === 0) return '';
  const items = sections.map((section) => `<li><a href="#${section.id}">${section.title}</a></li>`).join('');
  return `<nav class="toc" aria-labelledby="toc-title"><p class="toc-title" id="toc-title">Contents</p><ol>${items}</ol></nav>`;
}
