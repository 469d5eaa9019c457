// Search ranking of the course book: Sphinx's default scores, with the chapters (the lessons)
// ahead of the exercises and solutions that practise them when a term is found in both.
var Scorer = {
  score: (result) => {
    const [docname, title, anchor, descr, score] = result;
    return docname.startsWith("chapters/") ? score + 10 : score;
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
