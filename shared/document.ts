/**
 * The shape of a Tandem document inside its Loro doc: the text lives in one root text
 * container, whatever kind of field it is bound to.
 */
export const TEXT_CONTAINER = 'text';
