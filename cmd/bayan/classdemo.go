package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

// classDemoCmd is `bayan class demo`: a live class to try at once, with a
// teacher's link and students' links to open, and no ids to copy.
func (a *app) classDemoCmd(o *classOptions) *cobra.Command {
	var title string
	var students int
	cmd := &cobra.Command{
		Use:   "demo [--students N]",
		Short: "Create a class, take it live, and print a link for its teacher and for each student",
		Example: "  bayan serve --dev &\n" +
			"  bayan class demo --dev",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if students < 1 || students > 50 {
				return fmt.Errorf("--students %d: want 1 to 50", students)
			}
			return a.classDemo(cmd.Context(), o, title, students)
		},
	}
	cmd.Flags().StringVar(&title, "title", "Demo class", "the class's title")
	cmd.Flags().IntVar(&students, "students", 2, "how many student links to print")
	return cmd
}

// demoLength is how long a demo class is scheduled for; its links work
// until an hour after that.
const demoLength = 2 * time.Hour

// demoPerson is one link classDemo prints.
type demoPerson struct{ identity, name, label string }

func (a *app) classDemo(ctx context.Context, o *classOptions, title string, students int) error {
	people := []demoPerson{{"teacher", "Teacher", "Teacher"}}
	for i := range students {
		n := fmt.Sprint(i + 1)
		people = append(people, demoPerson{"student-" + n, "Student " + n, "Student " + n})
	}
	start := time.Now().UTC().Truncate(time.Minute)
	var class struct{ ID string }
	if err := a.classJSON(ctx, o, "POST", "/api/classes", map[string]any{
		"title": title, "teachers": []string{people[0].identity},
		"starts_at": start, "ends_at": start.Add(demoLength),
	}, &class); err != nil {
		return err
	}
	if err := a.classJSON(ctx, o, "POST", "/api/classes/"+url.PathEscape(class.ID)+"/start", nil, nil); err != nil {
		return err
	}
	links := make([]string, len(people))
	for i, p := range people {
		var j struct{ Link string }
		if err := a.classJSON(ctx, o, "POST", "/api/classes/"+url.PathEscape(class.ID)+"/join",
			map[string]string{"identity": p.identity, "name": p.name}, &j); err != nil {
			return err
		}
		links[i] = j.Link
	}
	fmt.Fprintf(a.stdout, "%q (%s) is live. Open each link in a browser tab or device of its own:\n\n", title, class.ID)
	for i, p := range people {
		fmt.Fprintf(a.stdout, "  %-10s %s\n", p.label+":", links[i])
	}
	dev := ""
	if o.keys.cf.dev {
		dev = " --dev"
	}
	fmt.Fprintf(a.stdout, "\nEach link is one person, and works for %d hours. To end the class:\n  bayan class end%s %s\n",
		int((demoLength+time.Hour)/time.Hour), dev, class.ID)
	return nil
}

// classJSON sends one request to the classes' API and decodes its JSON
// answer into out (nil: the answer is not needed).
func (a *app) classJSON(ctx context.Context, o *classOptions, method, path string, body, out any) error {
	b, _, err := a.classRequest(ctx, o, method, path, body)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
	}
	return nil
}
