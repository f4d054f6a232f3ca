/**
 * Footnotes and citations for one page. Footnotes are declared anywhere and
 * numbered by numberFootnotes, on the rendered page, in the order their marks
 * appear in the text: the order in which templates run (slots render after
 * the page's own expressions) cannot put 2 before 1. References are numbered
 * in the order they are first cited, as in a paper.
 */

export interface Note {
  key: string;
  html: string;
}

/** What a footnote's number reads until numberFootnotes replaces it. */
export const footnoteNumberSlot = '#FN#';

export class Footnotes {
  private readonly notes = new Map<string, Note>();

  /** Declare a note; numberFootnotes numbers it where its mark first appears. */
  add(key: string, html: string): Note {
    if (this.notes.has(key)) throw new Error(`Footnote "${key}" is declared twice.`);
    if (!/^[a-z0-9-]+$/.test(key)) throw new Error(`Footnote key "${key}" must be lower-case letters, digits and hyphens (it becomes an id).`);
    const note = { key, html };
    this.notes.set(key, note);
    return note;
  }

  get(key: string): Note {
    const note = this.notes.get(key);
    if (!note) throw new Error(`Footnote "${key}" is used but not declared.`);
    return note;
  }

  all(): Note[] {
    return [...this.notes.values()];
  }
}

const markPattern = /(<a\b[^>]*\sdata-footnote="([a-z0-9-]+)"[^>]*>)#FN#(<\/a>)/g;
const itemPattern = /<li\b[^>]*\sdata-footnote-item="([a-z0-9-]+)"[^>]*>[\s\S]*?<\/li>/g;

/**
 * Numbers a rendered page's footnotes in reading order: each mark (an <a
 * data-footnote="key"> reading #FN#) gets the number of its note's first mark,
 * and the list (<li data-footnote-item="key">, #FN# wherever it names its
 * number) is put in that order; a declared note no mark uses is left out.
 * Throws when a mark has no item in the list.
 */
export function numberFootnotes(html: string): string {
  const numbers = new Map<string, number>();
  for (const match of html.matchAll(markPattern)) if (!numbers.has(match[2])) numbers.set(match[2], numbers.size + 1);
  const marked = html.replace(markPattern, (_, open: string, key: string, close: string) => `${open}${numbers.get(key)}${close}`);
  const items = [...marked.matchAll(itemPattern)];
  for (const key of numbers.keys()) if (!items.some((item) => item[1] === key)) throw new Error(`Footnote "${key}" is marked in the text but missing from the list of notes.`);
  if (items.length === 0) return marked;
  const ordered = items
    .filter((item) => numbers.has(item[1]))
    .sort((a, b) => numbers.get(a[1])! - numbers.get(b[1])!)
    .map((item) => item[0].replaceAll(footnoteNumberSlot, String(numbers.get(item[1]))))
    .join('');
  const start = items[0].index!;
  const last = items.at(-1)!;
  const end = last.index! + last[0].length;
  // The items sit together in one list: replace that run, whatever lay between items goes.
  return marked.slice(0, start) + ordered + marked.slice(end);
}

export interface Reference {
  key: string;
  authors: string;
  year: number;
  title: string;
  venue: string;
  url?: string;
}

/** A reference as one citation mark shows it: its number and the id of its preview. */
export interface CitedReference extends Reference {
  n: number;
  id: string;
}

export const bibliography: Reference[] = [
  { key: 'mackay1992', authors: 'D. J. C. MacKay', year: 1992, title: 'A practical Bayesian framework for backpropagation networks', venue: 'Neural Computation 4(3)', url: 'https://doi.org/10.1162/neco.1992.4.3.448' },
  { key: 'mackay1992b', authors: 'D. J. C. MacKay', year: 1992, title: 'The evidence framework applied to classification networks', venue: 'Neural Computation 4(5)', url: 'https://doi.org/10.1162/neco.1992.4.5.720' },
  { key: 'spiegelhalter1990', authors: 'D. J. Spiegelhalter, S. L. Lauritzen', year: 1990, title: 'Sequential updating of conditional probabilities on directed graphical structures', venue: 'Networks 20(5)', url: 'https://doi.org/10.1002/net.3230200507' },
  { key: 'immer2021', authors: 'A. Immer, M. Korzepa, M. Bauer', year: 2021, title: 'Improving predictions of Bayesian neural nets via local linearization', venue: 'AISTATS', url: 'https://arxiv.org/abs/2008.08400' },
  { key: 'immer2021marglik', authors: 'A. Immer, M. Bauer, V. Fortuin, G. Rätsch, M. E. Khan', year: 2021, title: 'Scalable marginal likelihood estimation for model selection in deep learning', venue: 'ICML', url: 'https://arxiv.org/abs/2104.04975' },
  { key: 'naeini2015', authors: 'M. P. Naeini, G. F. Cooper, M. Hauskrecht', year: 2015, title: 'Obtaining well calibrated probabilities using Bayesian binning', venue: 'AAAI', url: 'https://ojs.aaai.org/index.php/AAAI/article/view/9602' },
  { key: 'hendrycks2017', authors: 'D. Hendrycks, K. Gimpel', year: 2017, title: 'A baseline for detecting misclassified and out-of-distribution examples in neural networks', venue: 'ICLR', url: 'https://arxiv.org/abs/1610.02136' },
  { key: 'martens2015', authors: 'J. Martens, R. Grosse', year: 2015, title: 'Optimizing neural networks with Kronecker-factored approximate curvature', venue: 'ICML', url: 'https://arxiv.org/abs/1503.05671' },
  { key: 'grosse2016', authors: 'R. Grosse, J. Martens', year: 2016, title: 'A Kronecker-factored approximate Fisher matrix for convolution layers', venue: 'ICML', url: 'https://arxiv.org/abs/1602.01407' },
  { key: 'ritter2018', authors: 'H. Ritter, A. Botev, D. Barber', year: 2018, title: 'A scalable Laplace approximation for neural networks', venue: 'ICLR', url: 'https://openreview.net/forum?id=Skdvd2xAZ' },
  { key: 'george2018', authors: 'T. George, C. Laurent, X. Bouthillier, N. Ballas, P. Vincent', year: 2018, title: 'Fast approximate natural gradient descent in a Kronecker-factored eigenbasis', venue: 'NeurIPS', url: 'https://arxiv.org/abs/1806.03884' },
  { key: 'curvature', authors: 'J. Lee, M. Humt', year: 2020, title: 'curvature: Laplace approximations for neural networks in PyTorch (the code of Lee et al. 2020 that this study reproduces)', venue: 'GitHub, DLR-RM/curvature', url: 'https://github.com/DLR-RM/curvature' },
  { key: 'lee2020', authors: 'J. Lee, M. Humt, J. Feng, R. Triebel', year: 2020, title: 'Estimating model uncertainty of neural networks in sparse information form', venue: 'ICML', url: 'https://arxiv.org/abs/2006.11631' },
  { key: 'kristiadi2020', authors: 'A. Kristiadi, M. Hein, P. Hennig', year: 2020, title: 'Being Bayesian, even just a bit, fixes overconfidence in ReLU networks', venue: 'ICML', url: 'https://arxiv.org/abs/2002.10118' },
  { key: 'daxberger2021', authors: 'E. Daxberger, A. Kristiadi, A. Immer, R. Eschenhagen, M. Bauer, P. Hennig', year: 2021, title: 'Laplace Redux: effortless Bayesian deep learning', venue: 'NeurIPS', url: 'https://arxiv.org/abs/2106.14806' },
  { key: 'guo2017', authors: 'C. Guo, G. Pleiss, Y. Sun, K. Q. Weinberger', year: 2017, title: 'On calibration of modern neural networks', venue: 'ICML', url: 'https://arxiv.org/abs/1706.04599' },
  { key: 'goodfellow2015', authors: 'I. Goodfellow, J. Shlens, C. Szegedy', year: 2015, title: 'Explaining and harnessing adversarial examples', venue: 'ICLR', url: 'https://arxiv.org/abs/1412.6572' },
  { key: 'li2018', authors: 'H. Li, Z. Xu, G. Taylor, C. Studer, T. Goldstein', year: 2018, title: 'Visualizing the loss landscape of neural nets', venue: 'NeurIPS', url: 'https://arxiv.org/abs/1712.09913' },
  { key: 'kunstner2019', authors: 'F. Kunstner, L. Balles, P. Hennig', year: 2019, title: 'Limitations of the empirical Fisher approximation for natural gradient descent', venue: 'NeurIPS', url: 'https://arxiv.org/abs/1905.12558' },
  { key: 'lakshminarayanan2017', authors: 'B. Lakshminarayanan, A. Pritzel, C. Blundell', year: 2017, title: 'Simple and scalable predictive uncertainty estimation using deep ensembles', venue: 'NeurIPS', url: 'https://arxiv.org/abs/1612.01474' },
  { key: 'lecun1998', authors: 'Y. LeCun, L. Bottou, Y. Bengio, P. Haffner', year: 1998, title: 'Gradient-based learning applied to document recognition', venue: 'Proceedings of the IEEE 86(11)', url: 'https://doi.org/10.1109/5.726791' },
  { key: 'xiao2017', authors: 'H. Xiao, K. Rasul, R. Vollgraf', year: 2017, title: 'Fashion-MNIST: a novel image dataset for benchmarking machine learning algorithms', venue: 'arXiv:1708.07747', url: 'https://arxiv.org/abs/1708.07747' },
];

export class Citations {
  private readonly order: string[] = [];

  /** The reference number of a key, given on its first citation. */
  cite(key: string): number {
    if (!bibliography.some((entry) => entry.key === key)) throw new Error(`Citation "${key}" is not in the bibliography.`);
    if (!this.order.includes(key)) this.order.push(key);
    return this.order.indexOf(key) + 1;
  }

  private occurrences = 0;

  /**
   * The references of one citation mark, numbered on first citation, each
   * with a fresh id for its hover preview. Called from the page's template
   * expressions, which run in document order (component scripts need not).
   */
  refs(keys: string | string[]): CitedReference[] {
    return [keys].flat().map((key) => {
      const n = this.cite(key);
      this.occurrences += 1;
      return { ...bibliography.find((entry) => entry.key === key)!, n, id: `cite-pop-${this.occurrences}` };
    });
  }

  /** Cited references in citation order. */
  list(): (Reference & { n: number })[] {
    return this.order.map((key, index) => ({ ...bibliography.find((entry) => entry.key === key)!, n: index + 1 }));
  }
}
